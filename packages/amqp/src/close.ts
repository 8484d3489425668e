import type { Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  describeValue,
  duration,
  errorMessage,
  InvalidOptionError,
  registerTask,
  requireClient,
  requireShutdown,
  settleBy,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { consumerChannels } from './consumers.js'
import { AMQP_DEFAULTS } from './defaults.js'
import {
  AmqpCloseTimeoutError,
  type AmqpConfirmsSummary,
  AmqpConnectionLostError,
  AmqpUnconfirmedError,
} from './errors.js'
import { connectionKey, destroySocket, isBlocked, openChannels, unconfirmedCount } from './internals.js'
import type { AmqpChannelLike, AmqpConfirmChannelLike, AmqpConnectionLike, AnyAmqpChannel } from './types.js'

/** Options of {@link closeAmqp}: the task options every adapter takes, and its own. */
export interface CloseAmqpOptions extends AdapterTaskOptions {
  /** Task name. Default: {@link AMQP_DEFAULTS}`.close.name`, numbered for further connections. */
  name?: string
  /** When the connection is closed. Default: {@link AMQP_DEFAULTS}`.close.phase`. */
  phase?: AdapterTaskOptions['phase']
  /** The budget: confirms, then the channels, then the connection. Default: {@link AMQP_DEFAULTS}`.close.timeoutMs`. */
  timeoutMs?: number
  /** Whether missing confirms, a lost connection or a forced close make the exit code non-zero. Default: {@link AMQP_DEFAULTS}`.close.critical`. */
  critical?: boolean
  /** Kept at the end of the budget for closing the channels and the connection. Default: {@link AMQP_DEFAULTS}`.closeMs`. */
  closeMs?: number
  /**
   * Channels of the connection to wait for and close, besides those found: needed only where this amqplib
   * does not let the connection's channels be listed (LAMEDUCK_WARN_AMQP_INTERNALS). Default: none.
   */
  channels?: readonly AnyAmqpChannel[]
}

/** What `closeAmqp` did, once its task has run. */
export interface AmqpCloseStats {
  /** Channels closed by the task (those open when it started). */
  channels: number
  /** How the publisher confirms of the confirm channels ended. */
  confirms: AmqpConfirmsSummary
  /** Whether the connection closed cleanly (`connection.close()` answered) by the deadline. */
  closed: boolean
  /** Whether the broker had blocked the connection (a resource alarm) when the task ended. */
  blocked: boolean
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
}

/** What `closeAmqp` returns: its {@link Registration} and `stats`. */
export interface AmqpClose extends Registration {
  /** What the task did, once it has run. */
  readonly stats: AmqpCloseStats | undefined
}

/** Every key `CloseAmqpOptions` has, for JavaScript callers' typos. */
export const CLOSE_OPTIONS = [...TASK_OPTION_KEYS, 'closeMs', 'channels'] as const

const WHERE = 'closeAmqp'

const isConfirmChannel = (channel: object): channel is AmqpConfirmChannelLike =>
  typeof (channel as { waitForConfirms?: unknown }).waitForConfirms === 'function'

/**
 * Closes an amqplib connection at shutdown (the `close` phase by default, after the consumers' drain and
 * whatever `flush` and `release` publish): waits for the publisher confirms of every confirm channel of the
 * connection (`waitForConfirms()`) until `closeMs` before its stop time, closes every channel, then the
 * connection. What does not close by the deadline has its socket destroyed (`AmqpCloseTimeoutError`);
 * missing confirms fail the task with `AmqpUnconfirmedError`, a connection lost before or during it with
 * `AmqpConnectionLostError`.
 *
 * From the first trigger on, an `error` listener on the connection keeps a broker lost during the shutdown
 * from crashing the process (amqplib emits `error`, which throws without a listener): the task reports it.
 */
export function closeAmqp(shutdown: Shutdown, connection: AmqpConnectionLike, options?: CloseAmqpOptions): AmqpClose {
  requireShutdown(WHERE, shutdown, 'closeAmqp(shutdown, connection, options?)')
  requireClient(
    `connection argument of ${WHERE}`,
    connection,
    'an amqplib connection (what amqp.connect() resolves to)',
    ['createChannel', 'close', 'on', 'removeListener'],
  )
  checkOptions(WHERE, options, CLOSE_OPTIONS)
  const o: CloseAmqpOptions = options ?? {}
  const task = taskOptions(WHERE, o, AMQP_DEFAULTS.close)
  const closeMs = duration(`closeMs of ${WHERE}`, o.closeMs, AMQP_DEFAULTS.closeMs)
  if (o.channels !== undefined && !Array.isArray(o.channels))
    throw new InvalidOptionError(
      `channels of ${WHERE}`,
      `expected an array of channels; got ${describeValue(o.channels)}`,
    )
  const listed = (o.channels ?? []).map((channel, i) =>
    requireClient<AmqpChannelLike>(`channels[${i}] of ${WHERE}`, channel, 'an amqplib channel', ['close', 'on']),
  )

  // The connection's state, from the registration on: amqplib's own where it shows it (internals.ts).
  let closed = false
  let closeError: unknown
  let blockedByEvent = false
  let stats: AmqpCloseStats | undefined
  const closedChannels = new WeakSet<object>()
  const onClose = (error?: unknown) => {
    closed = true
    if (error !== undefined) closeError ??= error
  }
  const onError = (error: unknown) => {
    closeError ??= error
  }
  const onBlocked = () => {
    blockedByEvent = true
  }
  const onUnblocked = () => {
    blockedByEvent = false
  }
  const channelListeners = listed.map((channel) => {
    const listener = () => closedChannels.add(channel)
    channel.on('close', listener)
    return () => channel.removeListener('close', listener)
  })
  connection.on('close', onClose)
  connection.on('blocked', onBlocked)
  connection.on('unblocked', onUnblocked)
  const blocked = () => isBlocked(connection) ?? blockedByEvent

  // From the first trigger, the broker's nacks on the confirm channels open then are counted: a publish
  // nacked before the close task starts is settled by then, and waitForConfirms() would not see it.
  const nackedChannels = new WeakSet<object>()
  const nackListeners: (() => void)[] = []
  const watchNacks = () => {
    for (const channel of [...(openChannels(connection) ?? []), ...listed]) {
      if (!isConfirmChannel(channel)) continue
      const listener = () => nackedChannels.add(channel)
      channel.on('nack', listener)
      nackListeners.push(() => channel.removeListener('nack', listener))
    }
  }
  const unwatchNacks = () => {
    for (const off of nackListeners.splice(0)) off()
  }

  // From the first trigger, a lost broker is the task's error to report, not an uncaught one.
  let guarding = false
  const guard = () => {
    if (guarding) return
    guarding = true
    watchNacks()
    connection.on('error', onError)
  }
  const offState = shutdown.on('state', ({ to }) => {
    if (to !== 'running') guard()
  })
  if (shutdown.state !== 'running') guard()

  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    const name = context.name
    const confirms: AmqpConfirmsSummary = {
      channels: 0,
      confirmed: 0,
      nacked: 0,
      closed: 0,
      timedOut: 0,
      unconfirmed: undefined,
    }
    const s: AmqpCloseStats = { channels: 0, confirms, closed: false, blocked: blocked(), durationMs: 0 }
    stats = s
    const finish = () => {
      s.blocked = blocked()
      s.durationMs = Math.round(clock.now() - started)
    }
    if (closed) {
      finish()
      if (closeError !== undefined) throw new AmqpConnectionLostError('before', { cause: closeError })
      shutdown.logger.info({ event: 'amqp.closed', task: name }, `${name}: the connection was already closed`)
      return
    }

    const found = openChannels(connection)
    if (found === undefined && listed.length === 0)
      shutdown.warn({
        code: 'LAMEDUCK_WARN_AMQP_INTERNALS',
        message:
          `${name}: this amqplib does not let the connection's channels be listed: only the channels of ` +
          'createConsumers get closed one by one (pass the others in `channels`); connection.close() closes the rest',
      })
    const key = connectionKey(connection)
    const ofConsumers = key === undefined ? [] : [...(consumerChannels().get(key) ?? [])]
    const channels = [...new Set<object>([...(found ?? ofConsumers), ...listed])].filter(
      (channel) => !closedChannels.has(channel),
    ) as AmqpChannelLike[]
    s.channels = channels.length

    const stopAt = context.stopAt()
    // 1. Publisher confirms, until closeMs before the stop (or half the time left, when less remains).
    const remaining = stopAt - clock.now()
    const confirmsUntil = clock.now() + Math.max(remaining - closeMs, remaining / 2)
    const confirmChannels = channels.filter(isConfirmChannel)
    confirms.channels = confirmChannels.length
    const outcomes = await Promise.all(
      confirmChannels.map(async (channel) => {
        try {
          const settled = await settleBy(channel.waitForConfirms(), confirmsUntil, { clock, signal })
          if (nackedChannels.has(channel)) return 'nacked'
          return settled.done ? 'confirmed' : 'timedOut'
        } catch (error) {
          return /nack/i.test(errorMessage(error)) ? 'nacked' : 'closed'
        }
      }),
    )
    unwatchNacks()
    for (const outcome of outcomes) confirms[outcome]++
    if (confirms.confirmed < confirms.channels) {
      const counts = confirmChannels.map(unconfirmedCount)
      confirms.unconfirmed = counts.includes(undefined)
        ? undefined
        : counts.reduce<number>((sum, n) => sum + (n ?? 0), 0)
    } else confirms.unconfirmed = 0

    // 2. The channels, then 3. the connection: each close waits for the broker's answer, so that every
    // frame sent before it (acks, publishes) has been read. amqplib settles neither close when the socket
    // goes instead: the connection's `close` event ends the wait then.
    const gone = new Promise<void>((resolve) => {
      if (closed) return resolve()
      connection.on('close', function off() {
        connection.removeListener('close', off)
        resolve()
      })
    })
    let timedOut: 'channels' | 'connection' | undefined
    if (!closed) {
      const channelsUntil = clock.now() + Math.max(0, stopAt - clock.now()) / 2
      const closing = Promise.all(channels.map((channel) => channel.close().catch(() => {})))
      const done = await settleBy(Promise.race([closing, gone]), channelsUntil, { clock, signal })
      if (!done.done && !closed) timedOut = 'channels'
    }
    if (!closed) {
      const closing = connection.close().then(
        () => true,
        () => false,
      )
      const done = await settleBy(Promise.race([closing, gone.then(() => false)]), stopAt, { clock, signal })
      s.closed = done.done && done.value
      if (!done.done && !closed) timedOut = 'connection'
    }
    finish()
    if (closeError !== undefined) throw new AmqpConnectionLostError('during', { cause: closeError })
    if (!s.closed && !closed) {
      const destroyed = destroySocket(connection, new Error(`${name}: the connection did not close by the deadline`))
      throw new AmqpCloseTimeoutError(timedOut ?? 'connection', destroyed, s.blocked)
    }
    if (confirms.confirmed < confirms.channels) throw new AmqpUnconfirmedError({ ...confirms }, s.blocked)
    shutdown.logger.info(
      { event: 'amqp.closed', task: name, channels: s.channels, confirmChannels: confirms.channels },
      `${name}: publisher confirms received on ${confirms.channels} channel(s), ${s.channels} channel(s) and the ` +
        `connection closed in ${s.durationMs} ms`,
    )
  }
  const onRemove = () => {
    unwatchNacks()
    offState()
    connection.removeListener('close', onClose)
    connection.removeListener('blocked', onBlocked)
    connection.removeListener('unblocked', onUnblocked)
    if (guarding) connection.removeListener('error', onError)
    for (const off of channelListeners) off()
  }
  const spec = { where: WHERE, task, resource: connection, resourceLabel: 'this connection', run, onRemove }
  const registration = registerTask(shutdown, spec)

  return {
    name: registration.name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    get stats() {
      return stats
    },
  }
}
