import type { Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  boolean,
  checkOptions,
  count,
  duration,
  errorMessage,
  InvalidOptionError,
  oneOf,
  optionalFunction,
  optionalObject,
  registerTask,
  requireClient,
  requireShutdown,
  settleBy,
  shared,
  string,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { AMQP_DEFAULTS } from './defaults.js'
import { AmqpChannelLostError, type AmqpConsumersStats, AmqpRequeuedError, AmqpShuttingDownError } from './errors.js'
import { connectionKey } from './internals.js'
import type { AmqpChannelLike, AmqpConsumeOptions, AmqpMessageLike, AnyAmqpChannel, MessageOf } from './types.js'

/** What a handler's failure does to its delivery: requeue it (`nack(requeue=true)`) or reject it (`nack(requeue=false)`). */
export type AmqpFailures = 'requeue' | 'reject'

/** Options of {@link createConsumers}: the task options every adapter takes, and the drain's own. */
export interface CreateConsumersOptions extends AdapterTaskOptions {
  /** Task name. Default: {@link AMQP_DEFAULTS}`.consumers.name`, numbered for further channels. */
  name?: string
  /** When the consumers are cancelled and drained. Default: {@link AMQP_DEFAULTS}`.consumers.phase`. */
  phase?: AdapterTaskOptions['phase']
  /** The drain's budget: what has not finished at its end is nack-requeued. Default: {@link AMQP_DEFAULTS}`.consumers.timeoutMs`. */
  timeoutMs?: number
  /** Whether requeued or lost deliveries make the exit code non-zero. Default: {@link AMQP_DEFAULTS}`.consumers.critical`. */
  critical?: boolean
  /**
   * How long before the task's stop time the handlers' AbortSignal aborts, so that they can stop and settle.
   * Default: {@link AMQP_DEFAULTS}`.abortBeforeMs`.
   */
  abortBeforeMs?: number
  /** What a handler's failure does to its delivery, for every consumer of the channel. Default: {@link AMQP_DEFAULTS}`.failures`. */
  failures?: AmqpFailures
}

/** What a handler gets besides the delivery. */
export interface DeliveryContext {
  /**
   * Aborts when the handler should stop: `abortBeforeMs` before the drain's stop time (reason: a
   * `TimeoutError` DOMException), or when the channel closes (an `AbortError`: the broker requeues the
   * delivery, no ack can reach it any more). A handler that rejects after it aborted has its delivery
   * nack-requeued.
   */
  readonly signal: AbortSignal
}

/**
 * Handles one delivery. Resolving (or returning) acks it; rejecting (or throwing) nacks it as `failures`
 * says — requeued when the rejection follows the abort of `context.signal`. Do not ack or nack it yourself:
 * a second acknowledgement of a delivery tag is a channel error (406 PRECONDITION_FAILED) that closes the
 * channel and requeues every other delivery in flight on it.
 */
export type DeliveryHandler<M> = (message: M, context: DeliveryContext) => unknown

/** Options of `consumers.consume()`: amqplib's consume options (but `noAck`) and the wrapper's own. */
export interface ConsumeOptions<M = AmqpMessageLike> extends Omit<AmqpConsumeOptions, 'noAck'> {
  /**
   * `channel.prefetch(prefetch)` before the consumer starts (RabbitMQ: per consumer; `0`: unlimited): the
   * most deliveries in flight at once, so the most the drain waits for or requeues. Default: the channel's.
   */
  prefetch?: number
  /** What a failure of this consumer's handler does to its delivery. Default: the channel's `failures`. */
  failures?: AmqpFailures
  /** Called with a handler's error (not the drain's abort) and its delivery. Default: logged as a warning. */
  onError?: (error: unknown, message: M) => void
  /** Only `false`: deliveries without acknowledgements are lost at shutdown, so they cannot be drained. */
  noAck?: false
}

/**
 * What `createConsumers` returns: its {@link Registration} — `name`, `remove()`, `[Symbol.dispose]` — with
 * `consume()`, `inFlight()` and `stats`.
 */
export interface AmqpConsumers<M = AmqpMessageLike> extends Registration {
  /**
   * Starts a consumer of `queue` on the channel, which acks each delivery when `handler` resolves and nacks
   * it when it rejects (see {@link DeliveryHandler}), and which the drain cancels and waits for. Resolves to
   * amqplib's answer, `{ consumerTag }`. Rejects with `AmqpShuttingDownError` once the drain has begun.
   */
  consume(queue: string, handler: DeliveryHandler<M>, options?: ConsumeOptions<M>): Promise<{ consumerTag: string }>
  /** Deliveries whose handler is running right now. */
  inFlight(): number
  /** What the drain did, once it has run. */
  readonly stats: AmqpConsumersStats | undefined
}

/** Every key `CreateConsumersOptions` has, for JavaScript callers' typos. */
export const CONSUMERS_OPTIONS = [...TASK_OPTION_KEYS, 'abortBeforeMs', 'failures'] as const

/** Every key `ConsumeOptions` has. */
export const CONSUME_OPTIONS = [
  'prefetch',
  'failures',
  'onError',
  'consumerTag',
  'noLocal',
  'noAck',
  'exclusive',
  'priority',
  'arguments',
] as const

const WHERE = 'createConsumers'
const FAILURES = ['requeue', 'reject'] as const

/**
 * Declared passively after the drain's last ack: a round trip on the channel. AMQP answers no ack or nack,
 * but a broker handles a channel's frames in order, so its answer means every ack and nack before it was
 * read. Every vhost has `amq.direct`, and a passive declare needs no permission and changes nothing.
 */
const SYNC_EXCHANGE = 'amq.direct'

/** The channels of `createConsumers` by connection, for `closeAmqp` when it cannot list a connection's channels. */
export const consumerChannels = (): WeakMap<object, Set<object>> =>
  shared('amqp:consumer-channels', () => new WeakMap<object, Set<object>>())

/** One delivery handed to a handler, until it is settled (acked, nacked, or lost with its channel). */
interface Delivery {
  readonly message: AmqpMessageLike
  readonly controller: AbortController
  settled: boolean
}

type Counter = 'acked' | 'failed' | 'requeuedAborted' | 'requeuedAtStop'

/**
 * Registers, in the `drain` phase, the drain of every consumer started on `channel` through the returned
 * `consume()`. At the drain:
 * 1. every consumer is cancelled (`basic.cancel`): no new delivery; one that arrives before the broker has
 *    seen the cancel is not handed to a handler but nack-requeued at once;
 * 2. the deliveries in flight get the budget: each is acked as soon as its handler resolves;
 * 3. `abortBeforeMs` before the task's stop time the handlers' AbortSignal aborts; one that rejects then is
 *    nack-requeued;
 * 4. at the stop time, what still runs is nack-requeued (its handler's later outcome is ignored: no second
 *    acknowledgement, which would close the channel), and the task fails with `AmqpRequeuedError`;
 * 5. a round trip on the channel makes sure the broker has read every ack and nack before the task ends.
 *
 * If the channel closes (the connection is lost, a channel error), the handlers' signals abort, the task ends
 * at once with `AmqpChannelLostError`, and the broker requeues what was unacknowledged. The channel itself
 * stays open: `closeAmqp` closes it, in the `close` phase, after what later phases publish on it.
 */
export function createConsumers<C extends AnyAmqpChannel>(
  shutdown: Shutdown,
  channel: C,
  options?: CreateConsumersOptions,
): AmqpConsumers<MessageOf<C>> {
  requireShutdown(WHERE, shutdown, 'createConsumers(shutdown, channel, options?)')
  requireClient(`channel argument of ${WHERE}`, channel, 'an amqplib channel (connection.createChannel())', [
    'consume',
    'cancel',
    'ack',
    'nack',
    'prefetch',
    'checkExchange',
    'close',
    'on',
    'removeListener',
  ])
  checkOptions(WHERE, options, CONSUMERS_OPTIONS)
  const o: CreateConsumersOptions = options ?? {}
  const task = taskOptions(WHERE, o, AMQP_DEFAULTS.consumers)
  const abortBeforeMs = duration(`abortBeforeMs of ${WHERE}`, o.abortBeforeMs, AMQP_DEFAULTS.abortBeforeMs)
  const failures = oneOf(`failures of ${WHERE}`, o.failures, FAILURES, AMQP_DEFAULTS.failures)
  const ch = channel as unknown as AmqpChannelLike<AmqpMessageLike>

  const consumers = new Map<string, string>() // consumer tag → queue
  const starting = new Set<Promise<unknown>>()
  const inFlight = new Set<Delivery>()
  let draining = false
  let cancelling = false
  let closed = false
  let channelError: unknown
  let stats: AmqpConsumersStats | undefined
  let wake: (() => void) | undefined

  const settle = (delivery: Delivery, how: 'ack' | 'requeue' | 'reject', counter?: Counter): void => {
    if (delivery.settled) return
    delivery.settled = true
    inFlight.delete(delivery)
    try {
      if (how === 'ack') ch.ack(delivery.message)
      else ch.nack(delivery.message, false, how === 'requeue')
      if (stats && counter) stats[counter]++
    } catch {
      // amqplib throws at once on a channel closing or closed: the broker requeues the delivery itself.
      if (stats) stats.lost++
    }
    wake?.()
  }

  const fail = (delivery: Delivery, error: unknown, own: AmqpFailures, onError: ConsumeOptions['onError']) => {
    if (delivery.settled) return // nack-requeued at the stop time, or lost with the channel
    if (delivery.controller.signal.aborted) return settle(delivery, 'requeue', 'requeuedAborted')
    settle(delivery, own, 'failed')
    if (onError) {
      try {
        onError(error, delivery.message)
      } catch {
        // The application's error callback failing must not take the consumer down.
      }
    } else
      shutdown.logger.warn(
        { event: 'amqp.handler.failed', task: registration.name, failures: own, error: errorMessage(error) },
        `${registration.name}: a delivery handler failed (${errorMessage(error)}); the delivery was ` +
          (own === 'requeue' ? 'requeued' : 'rejected'),
      )
  }

  const deliver = (
    message: AmqpMessageLike,
    handler: DeliveryHandler<AmqpMessageLike>,
    own: AmqpFailures,
    onError: ConsumeOptions['onError'],
  ) => {
    if (draining) {
      // Sent by the broker before it saw the cancel: never started, so given back untouched.
      try {
        ch.nack(message, false, true)
        if (stats) stats.arrivedDuringDrain++
      } catch {
        if (stats) stats.lost++
      }
      return
    }
    const delivery: Delivery = { message, controller: new AbortController(), settled: false }
    inFlight.add(delivery)
    let result: unknown
    try {
      result = handler(message, { signal: delivery.controller.signal })
    } catch (error) {
      fail(delivery, error, own, onError)
      return
    }
    if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function')
      (result as PromiseLike<unknown>).then(
        () => settle(delivery, 'ack', 'acked'),
        (error: unknown) => fail(delivery, error, own, onError),
      )
    else settle(delivery, 'ack', 'acked')
  }

  const onClose = () => {
    closed = true
    const reason = new DOMException(
      'the channel closed: the delivery is requeued by the broker, no acknowledgement can reach it',
      'AbortError',
    )
    for (const delivery of inFlight) {
      delivery.settled = true
      if (stats) stats.lost++
      delivery.controller.abort(reason)
    }
    inFlight.clear()
    consumers.clear()
    wake?.()
  }
  const onChannelError = (error: unknown) => {
    channelError ??= error
  }

  const consume = async (
    queue: string,
    handler: DeliveryHandler<AmqpMessageLike>,
    consumeOptions?: ConsumeOptions,
  ): Promise<{ consumerTag: string }> => {
    const where = 'consume'
    string(`queue of ${where}`, queue)
    optionalFunction(`handler of ${where}`, handler)
    if (handler === undefined) throw new InvalidOptionError(`handler of ${where}`, 'expected a function; got undefined')
    checkOptions(where, consumeOptions, CONSUME_OPTIONS)
    const c: ConsumeOptions = consumeOptions ?? {}
    if (c.noAck !== undefined && boolean(`noAck of ${where}`, c.noAck))
      throw new InvalidOptionError(
        `noAck of ${where}`,
        'a consumer without acknowledgements cannot be drained: the broker forgets each delivery once sent, so ' +
          'those in flight at shutdown are lost; leave noAck out',
      )
    const prefetch =
      c.prefetch === undefined ? undefined : count(`prefetch of ${where}`, c.prefetch, undefined, { max: 65_535 })
    const own = oneOf(`failures of ${where}`, c.failures, FAILURES, failures)
    const onError = optionalFunction(`onError of ${where}`, c.onError)
    const amqpOptions: AmqpConsumeOptions = { noAck: false }
    if (c.consumerTag !== undefined) amqpOptions.consumerTag = string(`consumerTag of ${where}`, c.consumerTag)
    if (c.noLocal !== undefined) amqpOptions.noLocal = boolean(`noLocal of ${where}`, c.noLocal)
    if (c.exclusive !== undefined) amqpOptions.exclusive = boolean(`exclusive of ${where}`, c.exclusive)
    if (c.priority !== undefined)
      amqpOptions.priority = count(`priority of ${where}`, c.priority, undefined, { min: -(2 ** 31), max: 2 ** 31 - 1 })
    if (c.arguments !== undefined) amqpOptions.arguments = optionalObject(`arguments of ${where}`, c.arguments)
    if (draining) throw new AmqpShuttingDownError(queue)

    const started = (async () => {
      if (prefetch !== undefined) await ch.prefetch(prefetch)
      const reply = await ch.consume(
        queue,
        (message) => {
          if (message === null) return cancelledByBroker(queue)
          deliver(message, handler, own, onError)
        },
        amqpOptions,
      )
      consumers.set(reply.consumerTag, queue)
      // The drain sent its cancels while this consumer was being set up: it cancels itself.
      if (cancelling)
        ch.cancel(reply.consumerTag).then(
          () => consumers.delete(reply.consumerTag),
          () => {},
        )
      return reply
    })()
    starting.add(started)
    try {
      return await started
    } finally {
      starting.delete(started)
    }
  }

  const cancelledByBroker = (queue: string) => {
    for (const [tag, q] of consumers) if (q === queue) consumers.delete(tag)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_AMQP_CONSUMER_CANCELLED',
      message:
        `${registration.name}: the broker cancelled the consumer of "${queue}" (the queue was deleted, or its ` +
        'node went away): no delivery comes through it any more',
      details: { queue },
    })
  }

  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    const s: AmqpConsumersStats = {
      consumers: consumers.size,
      cancelled: 0,
      inFlightAtDrain: inFlight.size,
      arrivedDuringDrain: 0,
      acked: 0,
      failed: 0,
      requeuedAborted: 0,
      requeuedAtStop: 0,
      lost: 0,
      synced: false,
      durationMs: 0,
    }
    stats = s
    draining = true
    const name = context.name
    if (closed) {
      s.durationMs = Math.round(clock.now() - started)
      shutdown.logger.info(
        { event: 'amqp.consumers.closed', task: name },
        `${name}: the channel was closed before the drain; nothing to settle`,
      )
      return
    }
    ch.on('error', onChannelError)
    // Waits until no handler runs (or the channel closed), until `until` or the task's signal.
    const quiet = async (until: number) => {
      while (inFlight.size > 0 && !closed) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve
        })
        const outcome = await settleBy(woken, until, { clock, signal })
        wake = undefined
        if (!outcome.done) return
      }
    }
    try {
      const stopAt = context.stopAt()
      if (starting.size > 0) await settleBy(Promise.allSettled(starting), stopAt, { clock, signal })
      cancelling = true
      s.consumers = consumers.size
      const cancels = [...consumers.keys()].map((tag) =>
        ch.cancel(tag).then(() => {
          s.cancelled++
          consumers.delete(tag)
        }),
      )
      await settleBy(Promise.allSettled(cancels), stopAt, { clock, signal })
      await quiet(Math.max(clock.now(), stopAt - abortBeforeMs))
      if (inFlight.size > 0 && !closed) {
        const reason = new DOMException(
          `the drain's budget is nearly spent (${name}): stop, the delivery is requeued`,
          'TimeoutError',
        )
        for (const delivery of inFlight) delivery.controller.abort(reason)
        await quiet(stopAt)
      }
      for (const delivery of [...inFlight]) settle(delivery, 'requeue', 'requeuedAtStop')
      if (!closed && !signal.aborted) {
        const round = await settleBy(ch.checkExchange(SYNC_EXCHANGE), context.deadline, { clock, signal }).catch(
          (error: unknown) => {
            channelError ??= error
            return undefined
          },
        )
        s.synced = round?.done === true
        if (!s.synced && !closed)
          shutdown.logger.warn(
            { event: 'amqp.consumers.unsynced', task: name },
            `${name}: the broker did not answer the round trip after the last ack in time: some acks may not ` +
              'have been read yet',
          )
      }
    } finally {
      ch.removeListener('error', onChannelError)
      s.durationMs = Math.round(clock.now() - started)
    }
    if (closed)
      throw new AmqpChannelLostError(
        { ...s },
        channelError === undefined ? 'the channel closed' : errorMessage(channelError),
        channelError === undefined ? undefined : { cause: channelError },
      )
    if (s.requeuedAborted + s.requeuedAtStop > 0) throw new AmqpRequeuedError({ ...s })
    shutdown.logger.info(
      { event: 'amqp.consumers.drained', task: name, ...s },
      `${name}: ${s.cancelled} consumer(s) cancelled, ${s.acked} delivery(ies) finished and acked in ${s.durationMs} ms`,
    )
  }
  const onAbandon = () => {
    // The process exits with handlers still running: give their deliveries back now, not at the socket's end.
    for (const delivery of [...inFlight]) settle(delivery, 'requeue', 'requeuedAtStop')
  }
  const onRemove = () => {
    ch.removeListener('close', onClose)
    const key = connectionKey(channel)
    if (key) consumerChannels().get(key)?.delete(channel)
  }
  const spec = { where: WHERE, task, resource: channel, resourceLabel: 'this channel', run, onAbandon, onRemove }
  const registration = registerTask(shutdown, spec)
  ch.on('close', onClose)
  const key = connectionKey(channel)
  if (key) {
    const all = consumerChannels()
    const set = all.get(key) ?? new Set<object>()
    all.set(key, set)
    set.add(channel)
  }

  return {
    name: registration.name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    consume: consume as AmqpConsumers<MessageOf<C>>['consume'],
    inFlight: () => inFlight.size,
    get stats() {
      return stats
    },
  }
}
