// Every private member of nats.js this package reads, in one place, each feature-detected; the same in v3
// (`@nats-io/nats-core`, `@nats-io/jetstream`) and v2 (`nats`). What they are for — the fence:
//
// nats.js's own ways of stopping a consumer lose what is on the wire. `messages.stop()` (JetStream) and
// `sub.unsubscribe()` remove the subscription at once, so messages the server has already sent arrive for a
// subscription the client no longer has and are dropped — a JetStream message then stays unacknowledged until
// `ack_wait` (measured: 186 messages stranded over 10 stops of a consumer under load, see the tests).
// `sub.drain()` sends UNSUB and removes the subscription when the server answers the PING after it; but a
// message the server had routed just before it processed the UNSUB can still be written after that PONG
// (measured: 1 stranded over 10 drains under load). So lameduck sends the UNSUB itself and keeps the
// subscription: whatever the server sent keeps arriving and is handled, until the consumer has nothing left,
// a second PING has been answered, and only then is the subscription removed.
//
// Without these members (another nats.js) the adapter falls back to `sub.drain()` / `messages.stop()` and
// says so once (LAMEDUCK_WARN_NATS_INTERNALS).

/** What the fence needs of nats.js's protocol handler (`ProtocolHandler`, shared by a connection's subscriptions). */
export interface Protocol {
  /** Sends `UNSUB <sid>` and nothing else: the subscription stays, so messages already sent still reach it. */
  unsub(sub: object): void
  /** Sends a PING; resolves on its PONG, when the server has processed everything sent before it. */
  flush(): Promise<void>
  /** Whether the connection is up now. */
  readonly connected?: boolean
}

import { shadow, shared } from '@lameduck/core/adapter'

type Loose = Record<string, unknown> | undefined

const asObject = (value: unknown): Loose =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined

/** The protocol handler under a subscription (`sub.protocol`), when it has the members the fence uses. */
export function protocolOf(sub: object): Protocol | undefined {
  const protocol = asObject((sub as Loose)?.protocol)
  if (typeof protocol?.unsub !== 'function' || typeof protocol.flush !== 'function') return undefined
  return {
    unsub: (s) => (protocol.unsub as (s: object) => void).call(protocol, s),
    flush: () => (protocol.flush as () => Promise<void>).call(protocol),
    get connected() {
      return typeof protocol.connected === 'boolean' ? protocol.connected : undefined
    },
  }
}

/**
 * The subscription a pull consumer's `consume()` reads its inbox through (`messages.sub`, a callback
 * subscription of the same connection), when it is one.
 */
export function inboxOf(messages: object): object | undefined {
  const sub = asObject((messages as Loose)?.sub)
  return typeof sub?.unsubscribe === 'function' && protocolOf(sub) ? sub : undefined
}

/**
 * Stops a pull consumer's `consume()` from asking for more (`messages.pull`, which sends the pull requests,
 * also after a reconnect): replaced by a no-op for good. Returns whether it could.
 */
export function stopPulling(messages: object): boolean {
  if (typeof (messages as Loose)?.pull !== 'function') return false
  Object.defineProperty(messages, 'pull', { value: () => {}, configurable: true, writable: true })
  return true
}

/**
 * Whether a pull consumer's `consume()` has asked for messages the server has not sent yet (`messages.pending`:
 * pull requests neither filled nor expired), or `undefined` when that cannot be read. While one is open the
 * server may be delivering on it at any moment, and a message it delivers at the instant the inbox is
 * unsubscribed is dropped inside the server and left unacknowledged until `ack_wait` — no client-side fence can
 * catch that one (measured: 6 of 3,710 deliveries in one stop under load). So the inbox is unsubscribed only
 * once no request is open (or the stream has gone quiet).
 */
export function hasOpenPulls(messages: object): boolean | undefined {
  const pending = asObject((messages as Loose)?.pending)
  if (typeof pending?.msgs !== 'number') return undefined
  return pending.msgs > 0 || (typeof pending.bytes === 'number' && pending.bytes > 0)
}

/**
 * From now on, the pull requests a pull consumer's `consume()` had queued are not sent: `consume()` queues each
 * one behind the messages it has buffered (`pull()` pushes a function into its iterator), so that a consumer
 * read slowly sends them during the drain — after the UNSUB, with no interest behind them. The server (2.9)
 * mishandles naks while such a request is waiting: measured, of 56 messages nak'ed at the deadline 2 were not
 * redelivered and 2 others were delivered twice, once more as new. So the connection's `publish` is wrapped
 * (one wrapper per connection, whatever the consumers and copies of lameduck) and drops the pull requests
 * (`$JS.API.CONSUMER.MSG.NEXT.…`) whose reply is this consumer's inbox, taking them off `messages.pending`
 * too. Returns the function that stops blocking, or `undefined` when the members are not there.
 */
export function blockPulls(messages: object): (() => void) | undefined {
  const m = messages as Loose
  const nc = asObject(asObject(asObject(m?.consumer)?.api)?.nc)
  const inbox = m?.inbox
  if (!nc || typeof nc.publish !== 'function' || typeof inbox !== 'string') return undefined
  const all = shared('nats:pull-blocks', () => new WeakMap<object, PullBlock>())
  let block = all.get(nc)
  if (!block) {
    const inboxes = new Map<string, object>()
    const publish = nc.publish as (subject: unknown, data?: unknown, options?: unknown) => unknown
    const restore = shadow(nc, {
      publish(this: unknown, subject: unknown, data?: unknown, options?: unknown) {
        const reply = asObject(options)?.reply
        const owner = typeof reply === 'string' ? inboxes.get(reply) : undefined
        if (owner && typeof subject === 'string' && subject.includes('.CONSUMER.MSG.NEXT.')) {
          forgetPull(owner, data)
          return
        }
        return publish.call(this, subject, data, options)
      },
    })
    block = { inboxes, restore }
    all.set(nc, block)
  }
  const { inboxes } = block
  inboxes.set(inbox, messages)
  const current = block
  return () => {
    if (inboxes.get(inbox) !== messages) return
    inboxes.delete(inbox)
    if (inboxes.size > 0) return
    current.restore()
    all.delete(nc)
  }
}

interface PullBlock {
  inboxes: Map<string, object>
  restore: () => void
}

/** A pull request that was never sent: what it asked for is not pending any more (`messages.pending`). */
function forgetPull(messages: object, data: unknown): void {
  const pending = asObject((messages as Loose)?.pending)
  if (!pending) return
  let request: Loose
  try {
    request = asObject(JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as Uint8Array)))
  } catch {
    return
  }
  const less = (key: 'msgs' | 'bytes' | 'requests', by: unknown) => {
    if (typeof pending[key] === 'number' && typeof by === 'number') pending[key] = Math.max(0, pending[key] - by)
  }
  less('msgs', request?.batch)
  less('bytes', request?.max_bytes)
  less('requests', 1)
}

/** Whether a subscription or `consume()` was made with a `callback` (its iterator then throws). */
export function hasCallback(iterable: object): boolean {
  return (iterable as Loose)?.noIterator === true
}

/** Whether something already reads the iterator (nats.js allows one reader: a second throws). */
export function isIterated(iterable: object): boolean {
  return (iterable as Loose)?.yielding === true
}

/** A v2 `js.subscribe()` / `js.pullSubscribe()` subscription: JetStream messages behind a core-looking subscription. */
export function isLegacyJetStream(sub: object): boolean {
  const s = sub as Loose
  return typeof s?.consumerInfo === 'function' || typeof s?.pull === 'function'
}

/** Whether a connection is up (`nc.protocol.connected`), or `undefined` when it cannot be read. */
export function isConnected(nc: object): boolean | undefined {
  const connected = asObject((nc as Loose)?.protocol)?.connected
  return typeof connected === 'boolean' ? connected : undefined
}
