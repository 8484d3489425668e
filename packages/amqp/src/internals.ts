// Every private field of amqplib this package reads, in one place, each with feature detection and a
// fallback that is tested (test/internals.test.ts, test/close.test.ts). amqplib's ChannelModel (what
// `connect()` resolves to) and each of its channels hold the protocol-level Connection as `connection` —
// public in amqplib's declarations (and the key that ties a channel to its connection here), but without
// these members:
// - `channels`: the open channels by number (`null` once closed; entry 0 is the connection's own), each
//   `{ channel }`, where `channel` is the very object `createChannel()` resolved to. `closeAmqp` reads it to
//   wait for the confirms of, and close, every channel the application opened. Without it: the channels of
//   `createConsumers` and those in the `channels` option (LAMEDUCK_WARN_AMQP_INTERNALS).
// - `blocked` (amqplib 1.0.4 on): whether the broker blocked the connection (a resource alarm), for the error messages. Without
//   it: the `blocked`/`unblocked` events since the registration.
// - `stream`: the socket, destroyed when the connection does not close by the deadline. Without it: nothing
//   can be destroyed, and the error says so.
// A confirm channel's `unconfirmed` (its window of publishes awaiting a confirm: `null` for a confirmed one
// in the middle) gives the count of unconfirmed publishes in `AmqpUnconfirmedError`; without it, `undefined`.

/** The protocol-level connection under a ChannelModel (or under a channel: `channel.connection`). */
function protocolConnection(model: object): Record<string, unknown> | undefined {
  const inner = (model as { connection?: unknown }).connection
  return inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>) : undefined
}

/** The object a channel and its ChannelModel share: the key that ties a channel to its connection. */
export function connectionKey(channelOrModel: object): object | undefined {
  return protocolConnection(channelOrModel)
}

/** The open channels of the connection (its own, number 0, left out), or `undefined` when they cannot be read. */
export function openChannels(model: object): object[] | undefined {
  const channels = protocolConnection(model)?.channels
  if (!Array.isArray(channels)) return undefined
  const open: object[] = []
  for (let i = 1; i < channels.length; i++) {
    const channel = (channels[i] as { channel?: unknown } | null | undefined)?.channel
    if (channel !== null && typeof channel === 'object' && typeof (channel as { close?: unknown }).close === 'function')
      open.push(channel)
  }
  return open
}

/** Whether the broker has blocked the connection, or `undefined` when this amqplib does not show it. */
export function isBlocked(model: object): boolean | undefined {
  const blocked = protocolConnection(model)?.blocked
  return typeof blocked === 'boolean' ? blocked : undefined
}

/**
 * Destroys the connection's socket with `error` — amqplib listens for the socket's `error`, not its `close`,
 * so that is what makes it close the connection and emit `close` — or returns `false` when it cannot be reached.
 */
export function destroySocket(model: object, error: Error): boolean {
  const stream = protocolConnection(model)?.stream as { destroy?: unknown } | undefined
  if (typeof stream?.destroy !== 'function') return false
  ;(stream.destroy as (error: Error) => void).call(stream, error)
  return true
}

/** Publishes of a confirm channel still awaiting their confirm, or `undefined` when this amqplib does not show them. */
export function unconfirmedCount(channel: object): number | undefined {
  const window = (channel as { unconfirmed?: unknown }).unconfirmed
  if (!Array.isArray(window)) return undefined
  return window.filter((slot) => slot !== null).length
}
