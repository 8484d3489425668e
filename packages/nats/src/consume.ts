import { setMaxListeners } from 'node:events'
import { InvalidOptionError, type Registration, type Shutdown, type TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  type Clock,
  checkOptions,
  count,
  describeArgument,
  duration,
  errorMessage,
  oneOf,
  optionalFunction,
  optionalObject,
  poll,
  registerTask,
  requireShutdown,
  type Settled,
  settleBy,
  shared,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import type {
  ConsumeOptionsOf,
  ConsumerMessagesLike,
  JetStreamConsumerLike,
  JsMsgLike,
  MessageOf,
  NatsSource,
  SubscriptionLike,
} from './client.js'
import { NATS_DEFAULTS } from './defaults.js'
import {
  type NatsConsumeStats,
  NatsHandlersAbandonedError,
  NatsMessagesLostError,
  NatsUnconfirmedError,
} from './errors.js'
import {
  blockPulls,
  hasCallback,
  hasOpenPulls,
  inboxOf,
  isIterated,
  isLegacyJetStream,
  type Protocol,
  protocolOf,
  stopPulling,
} from './internals.js'

/** What a handler is given besides its message. */
export interface HandlerContext {
  /**
   * Aborts when the consumer's budget is nearly gone (`abortGraceMs` before its end, reason a `TimeoutError`),
   * or when the coordinator gives the task up. Pass it on to what the handler awaits: a handler that stops and
   * throws is nak'ed (JetStream) and redelivered at once.
   */
  signal: AbortSignal
}

/** The function that processes one message; `consume` awaits it. */
export type MessageHandler<M> = (msg: M, context: HandlerContext) => unknown

/** Options of {@link consume}: the task options every adapter takes, and the consumer's own. */
export interface ConsumeOptions<S = NatsSource> extends AdapterTaskOptions {
  /** Task name. Default: {@link NATS_DEFAULTS}`.consume.name`, numbered for further consumers. */
  name?: string
  /** When the consumer stops. Default: {@link NATS_DEFAULTS}`.consume.phase`. */
  phase?: AdapterTaskOptions['phase']
  /** The drain's budget. Default: {@link NATS_DEFAULTS}`.consume.timeoutMs`. */
  timeoutMs?: number
  /** Whether lost messages or abandoned handlers make the exit code non-zero. Default: {@link NATS_DEFAULTS}`.consume.critical`. */
  critical?: boolean
  /** Messages handled at the same time. Default: {@link NATS_DEFAULTS}`.concurrency`. */
  concurrency?: number
  /** JetStream consumer: the options of its `consume()` (`max_messages`, `expires`, …). Default: nats.js's. */
  consumeOptions?: ConsumeOptionsOf<S>
  /** JetStream: who acks a handled message. Default: {@link NATS_DEFAULTS}`.ack`. */
  ack?: 'auto' | 'manual'
  /** JetStream: the nak delay of a message whose handler threw. Default: {@link NATS_DEFAULTS}`.retryDelayMs`. */
  retryDelayMs?: number
  /** JetStream: what becomes of the messages already delivered at the drain. Default: {@link NATS_DEFAULTS}`.buffered`. */
  buffered?: 'process' | 'nak'
  /** Kept at the end of the budget for aborted handlers to settle. Default: {@link NATS_DEFAULTS}`.abortGraceMs`. */
  abortGraceMs?: number
  /** Called with a handler's error (and its message). Default: the error is logged through the coordinator's logger. */
  onError?: (error: unknown, msg: MessageOf<S>) => void
}

/**
 * What `consume` returns: its {@link Registration} — `name`, `remove()`, `[Symbol.dispose]` — and what is its
 * own.
 */
export interface NatsConsumer extends Registration {
  /** Handlers running now. */
  inFlight(): number
  /** Resolves once the consumer has stopped: its messages ended (the drain, or an unsubscribe) and every handler settled. */
  readonly done: Promise<void>
  /** What the drain did, once its task has run. */
  readonly stats: NatsConsumeStats | undefined
}

/** Every key `ConsumeOptions` has, for JavaScript callers' typos. */
export const CONSUME_OPTIONS = [
  ...TASK_OPTION_KEYS,
  'concurrency',
  'consumeOptions',
  'ack',
  'retryDelayMs',
  'buffered',
  'abortGraceMs',
  'onError',
] as const

const WHERE = 'consume'
/** At most this much of the end of the budget (and half of `abortGraceMs`) is kept for the server's last confirmation. */
const CONFIRM_MS = 100

type Kind = 'core' | 'jetstream'

/** The consumers of each coordinator whose drain is running: `drainNats` waits for them before draining the connection. */
export const runningDrains = (shutdown: Shutdown): Set<Promise<unknown>> => {
  const all = shared('nats:running-drains', () => new WeakMap<Shutdown, Set<Promise<unknown>>>())
  let set = all.get(shutdown)
  if (!set) {
    set = new Set()
    all.set(shutdown, set)
  }
  return set
}

const isFunction = (value: unknown, key: string) =>
  typeof (value as Record<string, unknown> | null)?.[key] === 'function'

/** Which kind of source this is, or a message saying what it is not. */
function classify(source: unknown): { kind: Kind; consumer: boolean } | string {
  if (source === null || typeof source !== 'object') return `got ${describeArgument(source)}`
  const iterable = isFunction(source, Symbol.asyncIterator as unknown as string)
  if (isFunction(source, 'consume') && isFunction(source, 'info')) {
    if (!isFunction(source, 'fetch'))
      return 'got a JetStream push consumer (it has no fetch()): use a pull consumer (js.consumers.get(stream, name))'
    return { kind: 'jetstream', consumer: true }
  }
  if (iterable && isFunction(source, 'drain') && isFunction(source, 'getSubject')) {
    if (isLegacyJetStream(source))
      return 'got a JetStream subscription of the legacy API (js.subscribe / js.pullSubscribe): pass the pull consumer of js.consumers.get(stream, name) instead'
    if (hasCallback(source))
      return 'got a subscription made with a callback: subscribe without one (consume reads its iterator)'
    return { kind: 'core', consumer: false }
  }
  if (iterable && isFunction(source, 'stop') && isFunction(source, 'close')) {
    if (hasCallback(source))
      return 'got the messages of a consume() made with a callback: call consume() without one, or pass the consumer'
    return { kind: 'jetstream', consumer: false }
  }
  return `got ${describeArgument(source)}`
}

/**
 * Processes the messages of a core NATS subscription or a JetStream pull consumer with `handler`, from now on,
 * and registers, in the `drain` phase, the stop of that consumer within its budget:
 *
 * - Until the drain (through the drain delay) messages are handled as they come, `concurrency` at a time.
 *   JetStream (`ack: 'auto'`): a handler that resolves acks its message, one that throws naks it
 *   (`retryDelayMs`); the handler may answer itself first (`msg.ack()`, `ackAck()`, `term()`).
 * - At the drain, **the fence**: the server is told to stop sending (UNSUB; a JetStream consumer stops asking for
 *   more), while the subscription stays, so that what the server had already sent still arrives. Every message
 *   that reached the process is handled (with `buffered: 'nak'`, JetStream messages not yet started are nak'ed
 *   at once instead), in-flight handlers finish, a second PING makes sure nothing is still on the wire, and then
 *   the subscription goes.
 * - `abortGraceMs` before the end of the budget the handlers' `signal` aborts. JetStream: the messages not
 *   started are nak'ed for immediate redelivery, and so are, at the end, those whose handler has not settled
 *   (`NatsHandlersAbandonedError`). Core NATS has no redelivery: what is left then is lost
 *   (`NatsMessagesLostError`, with the count).
 * - The server confirms the acks and naks (a PING) before the task ends (`NatsUnconfirmedError` when it cannot).
 *
 * The connection stays open: `drainNats` closes it, in the `close` phase, after every consumer has stopped.
 *
 * @param source a subscription of `nc.subscribe(subject, { queue? })` made without a callback; a JetStream
 *   pull consumer (`await js.consumers.get(stream, name)`: `consume` calls its `consume(consumeOptions)`); or
 *   the messages of such a `consume()` made without a callback. Nothing else may read it.
 */
export function consume<S extends NatsSource>(
  shutdown: Shutdown,
  source: S,
  handler: MessageHandler<MessageOf<S>>,
  options?: ConsumeOptions<S>,
): NatsConsumer {
  requireShutdown(WHERE, shutdown, 'consume(shutdown, source, handler, options?)')
  const classified = classify(source)
  if (typeof classified === 'string')
    throw new InvalidOptionError(
      `source argument of ${WHERE}`,
      `expected a NATS subscription, a JetStream pull consumer or the messages of its consume(); ${classified}`,
    )
  if (typeof handler !== 'function')
    throw new InvalidOptionError(
      `handler argument of ${WHERE}`,
      `expected a function (msg, { signal }) => …; got ${describeArgument(handler)}`,
    )
  checkOptions(WHERE, options, CONSUME_OPTIONS)
  const o: ConsumeOptions<S> = options ?? {}
  const task = taskOptions(WHERE, o, NATS_DEFAULTS.consume)
  const { kind } = classified
  const concurrency = count(`concurrency of ${WHERE}`, o.concurrency, NATS_DEFAULTS.concurrency, { min: 1 })
  const ack = oneOf(`ack of ${WHERE}`, o.ack, ['auto', 'manual'], NATS_DEFAULTS.ack)
  const retryDelayMs = duration(`retryDelayMs of ${WHERE}`, o.retryDelayMs, NATS_DEFAULTS.retryDelayMs)
  const buffered = oneOf(`buffered of ${WHERE}`, o.buffered, ['process', 'nak'], NATS_DEFAULTS.buffered)
  const abortGraceMs = duration(`abortGraceMs of ${WHERE}`, o.abortGraceMs, NATS_DEFAULTS.abortGraceMs)
  const consumeOptions = optionalObject(`consumeOptions of ${WHERE}`, o.consumeOptions)
  const onError = optionalFunction(`onError of ${WHERE}`, o.onError)
  if (kind === 'core') {
    const jetStreamOnly = (['ack', 'retryDelayMs', 'buffered', 'consumeOptions'] as const).find(
      (key) => o[key] !== undefined,
    )
    if (jetStreamOnly !== undefined)
      throw new InvalidOptionError(
        `${jetStreamOnly} of ${WHERE}`,
        `a JetStream option, and this is a core NATS subscription${jetStreamOnly === 'buffered' ? ' (core NATS cannot give messages back: they are always processed)' : ''}`,
      )
  } else if (consumeOptions !== undefined && !classified.consumer)
    throw new InvalidOptionError(
      `consumeOptions of ${WHERE}`,
      'these messages come from a consume() already called: give its options there, or pass the consumer itself',
    )

  const loop = new ConsumerLoop<MessageOf<S>>({
    kind,
    clock: shutdown.clock,
    concurrency,
    ack,
    retryDelayMs,
    handler,
    onError: (error, msg) => {
      if (onError) {
        try {
          onError(error, msg)
        } catch {
          // The application's error reporter failed: nothing better to tell it.
        }
        return
      }
      shutdown.logger.error(
        { event: 'nats.handler.failed', task: loop.name, error: errorMessage(error) },
        `${loop.name}: a message handler failed: ${errorMessage(error)}`,
      )
    },
    onLoopError: (error) =>
      shutdown.logger.error(
        { event: 'nats.consumer.failed', task: loop.name, error: errorMessage(error) },
        `${loop.name}: the consumer stopped: ${errorMessage(error)}`,
      ),
  })
  let stats: NatsConsumeStats | undefined

  const run = (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    const s: NatsConsumeStats = {
      kind,
      inFlightAtStart: loop.inFlight(),
      handled: 0,
      failed: 0,
      naked: 0,
      dropped: 0,
      abandoned: 0,
      fenced: false,
      confirmed: false,
      disconnected: false,
      durationMs: 0,
    }
    stats = s
    const stopAt = context.stopAt()
    const abortAt = Math.max(clock.now(), stopAt - abortGraceMs)
    const abandonAt = Math.max(abortAt, stopAt - Math.min(CONFIRM_MS, abortGraceMs / 2))
    const timing = { clock, signal }
    // The coordinator gave the task up: the handlers are told at once.
    const onAbort = () => loop.abort()
    signal.addEventListener('abort', onAbort, { once: true })
    const drains = runningDrains(shutdown)
    const drained = drain().finally(() => {
      signal.removeEventListener('abort', onAbort)
      drains.delete(drained)
    })
    drains.add(drained)
    return drained

    async function drain(): Promise<void> {
      loop.startDrain(s, buffered === 'nak')
      // A consumer's consume() may not have answered yet.
      if (!(await settleBy(loop.opened, abortAt, timing)).done) loop.abort()
      const fence = loop.protocol()
      if (fence === 'missing') {
        shutdown.warn({
          code: 'LAMEDUCK_WARN_NATS_INTERNALS',
          message:
            `${loop.name}: this nats.js lacks the internals the fence reads (sub.protocol, messages.sub): the ` +
            "consumer was stopped with nats.js's own drain()/stop(), and messages the server had already sent " +
            'may be dropped by the client (JetStream: redelivered only after ack_wait)',
        })
      }
      const protocol = typeof fence === 'object' ? fence : undefined
      s.fenced = protocol !== undefined
      const down = () => protocol?.connected === false
      // A PING answered by `until`; false at once when the connection is (or goes) down: no use waiting for it.
      const roundTrip = async (until: number): Promise<boolean> => {
        if (!protocol || down()) return false
        const stopWatching = new AbortController()
        const lost = poll(down, { everyMs: NATS_DEFAULTS.pollMs, until, clock, signal: stopWatching.signal })
        try {
          const answer = Promise.race([protocol.flush().then(() => true), lost.then(() => false)])
          const settled = await settleBy(answer, until, timing)
          return settled.done && settled.value
        } catch {
          return false
        } finally {
          stopWatching.abort()
        }
      }
      if (protocol && kind === 'jetstream') {
        // No more pull requests; those still open are filled (or expire) while their messages are handled, so
        // that the UNSUB cannot catch the server delivering (see internals.ts).
        loop.stopPulling()
        let seen = loop.received()
        // An idle consumer has been quiet since its last message: no wait at all for one that had nothing to do.
        let quietSince = loop.idle() ? loop.lastTakenAt : clock.now()
        await poll(
          () => {
            if (loop.ended || down() || loop.openPulls() === false) return true
            const received = loop.received()
            if (received !== seen) {
              seen = received
              quietSince = clock.now()
            }
            return clock.now() - quietSince >= NATS_DEFAULTS.quietMs
          },
          { everyMs: NATS_DEFAULTS.pollMs, until: abortAt, ...timing },
        )
      }
      if (protocol) {
        // The server is told to stop sending, while the subscription stays: what it has sent still arrives.
        loop.unsub(protocol)
        // The server has processed the UNSUB: from the PONG on it routes nothing new here (queue groups: to
        // the other members), and everything it had sent before is arriving.
        await roundTrip(abortAt)
        // Nothing buffered, no handler running (or the connection is down: nothing more is coming anyway).
        await poll(() => loop.ended || loop.idle() || down(), {
          everyMs: NATS_DEFAULTS.pollMs,
          until: abortAt,
          ...timing,
        })
        // A message the server routed just before it processed the UNSUB may be written after that PONG: a
        // second round trip lets it arrive before the subscription goes.
        await roundTrip(abortAt)
      }
      // The server is gone: JetStream messages not started yet would be processed without their acks getting
      // through (and be redelivered after ack_wait all the same): only the running handlers finish.
      if (down() && kind === 'jetstream') loop.release()
      // The subscription goes: its iterator ends after what it still holds. (Without the fence, nats.js's own
      // drain() or stop() has done that already.)
      if (fence !== 'missing') loop.end()
      let finished: Settled<void> = await settleBy(loop.done, abortAt, timing)
      if (!finished.done) {
        // The budget is nearly gone: the handlers are told to stop; what is not started is nak'ed or dropped.
        loop.abort()
        finished = await settleBy(loop.done, abandonAt, timing)
        if (!finished.done) loop.abandon()
      }
      // Acks, naks and the handlers' replies went out during the drain: the server confirms them (a PING).
      const answered = s.handled + s.failed + s.naked > 0
      if (protocol) s.confirmed = await roundTrip(stopAt)
      s.disconnected = down()
      s.durationMs = Math.round(clock.now() - started)
      if (kind === 'core' && s.dropped + s.abandoned > 0) throw new NatsMessagesLostError({ ...s })
      if (s.abandoned > 0) throw new NatsHandlersAbandonedError({ ...s })
      if (protocol && answered && !s.confirmed) throw new NatsUnconfirmedError({ ...s })
      const name = registration.name
      shutdown.logger.info(
        { event: 'nats.consumer.stopped', task: name, ...s },
        `${name}: ${kind} consumer stopped in ${s.durationMs} ms: ${s.handled} handled, ${s.failed} failed` +
          (kind === 'jetstream' ? `, ${s.naked} nak'ed for redelivery` : ''),
      )
    }
  }
  const resourceLabel = kind === 'core' ? 'this subscription' : 'this consumer'
  const registration = registerTask(shutdown, { where: WHERE, task, resource: source, resourceLabel, run })
  // nats.js lets one reader iterate a subscription: a second one (the application's, another coordinator's
  // consume) would fail later, inside the loop. Refused now instead.
  const readers = shared('nats:readers', () => new WeakSet<object>())
  if (readers.has(source) || isIterated(source)) {
    registration.remove()
    throw new InvalidOptionError(
      `source argument of ${WHERE}`,
      'something already reads this subscription (nats.js allows one reader): let consume be the only one',
    )
  }
  readers.add(source)
  void loop.done.finally(() => readers.delete(source))
  loop.name = registration.name
  loop.start(kind === 'jetstream' && classified.consumer, source, consumeOptions)

  return {
    name: registration.name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    inFlight: () => loop.inFlight(),
    done: loop.done,
    get stats() {
      return stats
    },
  }
}

interface LoopOptions<M> {
  kind: Kind
  clock: Clock
  concurrency: number
  ack: 'auto' | 'manual'
  retryDelayMs: number
  handler: MessageHandler<M>
  onError(error: unknown, msg: M): void
  onLoopError(error: unknown): void
}

/**
 * The loop that reads a subscription's (or `consume()`'s) iterator and runs the handler, `concurrency` at a
 * time, and the drain's controls over it. Modes: `run` — handle what comes; `release` (JetStream,
 * `buffered: 'nak'`) — nak what comes, let running handlers finish; `abort` — the budget is nearly gone: nak
 * (JetStream) or drop (core) what comes, handlers' signal aborted.
 */
class ConsumerLoop<M> {
  name = ''
  /** Resolves once `consume()` of a consumer has answered (at once for a subscription or messages). */
  opened: Promise<void>
  /** Resolves once the iterator ended and every handler settled. */
  done: Promise<void>
  ended = false
  /** When the loop last took a message from the iterator, by the coordinator's clock (never: -Infinity). */
  lastTakenAt = Number.NEGATIVE_INFINITY
  #open!: () => void
  #finish!: () => void
  #iterable: ConsumerMessagesLike | SubscriptionLike | undefined
  #mode: 'run' | 'release' | 'abort' = 'run'
  #stats: NatsConsumeStats | undefined
  /** Handlers running, by message. */
  #running = new Map<M, { answered: boolean }>()
  #waiting = false
  #wake: (() => void) | undefined
  readonly #controller = new AbortController()

  constructor(readonly options: LoopOptions<M>) {
    // One signal for every handler: `concurrency` handlers each listening (a fetch, a timer) are not a leak.
    setMaxListeners(Math.max(10, options.concurrency * 8), this.#controller.signal)
    this.opened = new Promise<void>((resolve) => {
      this.#open = resolve
    })
    this.done = new Promise<void>((resolve) => {
      this.#finish = resolve
    })
  }

  inFlight(): number {
    return this.#running.size
  }

  /** Nothing buffered (the loop waits on an empty iterator) and no handler running. */
  idle(): boolean {
    return this.#waiting && this.#running.size === 0
  }

  start(isConsumer: boolean, source: object, consumeOptions: object | undefined): void {
    const opening = isConsumer
      ? (source as JetStreamConsumerLike).consume(consumeOptions as never)
      : Promise.resolve(source as ConsumerMessagesLike | SubscriptionLike)
    void opening
      .then(
        (iterable) => {
          this.#iterable = iterable
          this.#open()
          return this.#read(iterable as unknown as AsyncIterable<M>)
        },
        (error: unknown) => {
          this.#open()
          this.options.onLoopError(error)
        },
      )
      .finally(() => {
        this.ended = true
        this.#finish()
      })
  }

  startDrain(stats: NatsConsumeStats, release: boolean): void {
    this.#stats = stats
    if (release && this.#mode === 'run') this.#setMode('release')
  }

  /**
   * The protocol handler to fence with; `'missing'` when nats.js's internals are not there (nats.js's own stop
   * has then been called); `undefined` when the iterator is gone already.
   */
  protocol(): Protocol | 'missing' | undefined {
    const iterable = this.#iterable
    if (!iterable || this.ended) return undefined
    const sub = this.#inbox()
    const protocol = sub && protocolOf(sub)
    if (!protocol) {
      // nats.js's own: drain() (UNSUB, then gone at the PONG) of a subscription; stop() of consume()'s messages.
      if (this.options.kind === 'core') (iterable as SubscriptionLike).drain().catch(() => {})
      else (iterable as ConsumerMessagesLike).stop()
      return 'missing'
    }
    return protocol
  }

  /**
   * A pull consumer asks for no more messages: not after a reconnect, nor with the requests it had queued
   * (blocked until the loop has ended).
   */
  stopPulling(): void {
    const iterable = this.#iterable
    if (!iterable) return
    stopPulling(iterable)
    const unblock = blockPulls(iterable)
    if (unblock) void this.done.finally(unblock)
  }

  /** Whether a pull request is still open (JetStream), or `undefined` when that cannot be read. */
  openPulls(): boolean | undefined {
    return this.#iterable ? hasOpenPulls(this.#iterable) : undefined
  }

  /** Messages the subscription has received so far (nats.js's `getReceived()`), or -1. */
  received(): number {
    const getReceived = (this.#iterable as { getReceived?: () => number } | undefined)?.getReceived
    return typeof getReceived === 'function' ? getReceived.call(this.#iterable) : -1
  }

  /** UNSUB, and nothing else: the subscription stays, so that the messages the server has sent still arrive. */
  unsub(protocol: Protocol): void {
    const sub = this.#inbox()
    if (sub) protocol.unsub(sub)
  }

  /** The subscription the messages come through: the subscription itself, or a pull consumer's inbox. */
  #inbox(): object | undefined {
    const iterable = this.#iterable
    if (!iterable) return undefined
    return this.options.kind === 'core' ? iterable : inboxOf(iterable)
  }

  /** Removes the subscription: the iterator yields what it still holds, then ends. */
  end(): void {
    const iterable = this.#iterable
    if (!iterable) return
    try {
      if (this.options.kind === 'core') (iterable as SubscriptionLike).unsubscribe()
      else (iterable as ConsumerMessagesLike).stop()
    } catch {
      // A closed connection: the iterator ends by itself.
    }
  }

  /** From now on, the messages not started are nak'ed (JetStream); the running handlers finish. */
  release(): void {
    if (this.#mode === 'run') this.#setMode('release')
  }

  /** The budget is nearly gone: handlers' signal aborts, and what comes from now on is nak'ed or dropped. */
  abort(): void {
    this.#setMode('abort')
    this.end()
    if (!this.#controller.signal.aborted)
      this.#controller.abort(new DOMException(`the budget of ${this.name} ran out`, 'TimeoutError'))
  }

  /** The end of the budget: the handlers still running are given up (JetStream: their messages nak'ed). */
  abandon(): void {
    const stats = this.#stats
    for (const [msg, state] of this.#running) {
      if (stats) stats.abandoned++
      if (state.answered) continue
      state.answered = true
      if (this.options.kind === 'jetstream') this.#nak(msg, 0)
    }
    this.#wake?.()
  }

  #setMode(mode: 'release' | 'abort'): void {
    this.#mode = mode
    this.#wake?.()
  }

  async #read(iterable: AsyncIterable<M>): Promise<void> {
    const iterator = iterable[Symbol.asyncIterator]()
    try {
      for (;;) {
        // A free slot, unless the messages are not to be handled any more (they are then nak'ed or dropped).
        while (this.#mode !== 'release' && this.#mode !== 'abort' && this.#running.size >= this.options.concurrency)
          await new Promise<void>((resolve) => {
            this.#wake = resolve
          })
        this.#wake = undefined
        this.#waiting = true
        const next = await iterator.next()
        this.#waiting = false
        if (next.done) break
        this.#take(next.value)
      }
    } catch (error) {
      this.options.onLoopError(error)
    } finally {
      this.#waiting = false
      // Every handler settled (or was given up by abandon(), whose messages are answered already).
      while (this.#running.size > 0 && (this.#stats === undefined || this.#stats.abandoned === 0))
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
    }
  }

  #take(msg: M): void {
    this.lastTakenAt = this.options.clock.now()
    if (this.#mode !== 'run') {
      if (this.options.kind === 'jetstream') this.#nak(msg, 0)
      else if (this.#stats) this.#stats.dropped++
      return
    }
    const state = { answered: false }
    this.#running.set(msg, state)
    void this.#handle(msg, state)
  }

  async #handle(msg: M, state: { answered: boolean }): Promise<void> {
    const { kind, ack, handler } = this.options
    let failed = false
    let failure: unknown
    try {
      await handler(msg, { signal: this.#controller.signal })
    } catch (error) {
      failed = true
      failure = error
    }
    this.#running.delete(msg)
    const stats = this.#stats
    if (!state.answered) {
      state.answered = true
      if (!failed) {
        if (stats) stats.handled++
        if (kind === 'jetstream' && ack === 'auto') this.#answer(() => (msg as JsMsgLike).ack())
      } else if (kind === 'jetstream' && this.#controller.signal.aborted) {
        // Stopped by the budget's end, not by a fault of its message: back to the server at once.
        this.#nak(msg, 0)
      } else {
        if (stats) stats.failed++
        if (kind === 'jetstream') this.#nak(msg, this.options.retryDelayMs, false)
        this.options.onError(failure, msg)
      }
    }
    this.#wake?.()
  }

  #nak(msg: M, delayMs: number, count = true): void {
    if (count && this.#stats) this.#stats.naked++
    this.#answer(() => (msg as JsMsgLike).nak(delayMs > 0 ? delayMs : undefined))
  }

  #answer(send: () => void): void {
    try {
      send()
    } catch {
      // The connection is closed: the server redelivers after ack_wait; the drain reports it unconfirmed.
    }
  }
}
