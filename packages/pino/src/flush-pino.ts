import { writeSync } from 'node:fs'
import { InvalidOptionError, type Registration, type Shutdown } from '@lameduck/core'
import {
  addNumbered,
  boolean,
  checkOptions,
  claimResource,
  describeArgument,
  duration,
  errorMessage,
  name,
  onFirstTrigger,
  poll,
  requireShutdown,
  settleBy,
} from '@lameduck/core/adapter'
import { PINO_DEFAULTS } from './defaults.js'
import { PinoDestinationError, type PinoFlushResult, PinoFlushTimeoutError } from './errors.js'
import {
  beginEnd,
  type Destination,
  describeThreadStream,
  destinationClosed,
  destinationsOf,
  endedBefore,
  failed,
  handedOver,
  type PinoStreamSlot,
  pinoStreamSlot,
  replaceInMultistreams,
  sonicBoomIdle,
  type ThreadStreamLike,
} from './internals.js'

export interface FlushPinoOptions {
  /** The exit flush's name. Default: {@link PINO_DEFAULTS}`.name` (numbered for a second logger). */
  name?: string
  /** Its budget, reserved out of the grace period. Default: {@link PINO_DEFAULTS}`.timeoutMs`. */
  timeoutMs?: number
  /** Close the transport once it has taken everything. Default: {@link PINO_DEFAULTS}`.close`. */
  close?: boolean
}

/** The handle: a Registration (name, remove(), [Symbol.dispose]), and what the flush did once it has run. */
export interface PinoFlush extends Registration {
  readonly result: PinoFlushResult | undefined
}

/** The options `flushPino` accepts (the README's table is checked against this list). */
export const FLUSH_PINO_OPTIONS = ['name', 'timeoutMs', 'close'] as const satisfies readonly (keyof FlushPinoOptions)[]

/** What `flushPino` needs of a logger: pino's, with its destination behind pino's stream symbol. */
export interface PinoLoggerLike {
  info: (...args: never[]) => unknown
  flush: (cb?: (error?: Error) => void) => void
  child: (...args: never[]) => unknown
}

const where = 'flushPino'
const usage = 'flushPino(shutdown, logger, options?)'

/**
 * Registers an exit flush (`shutdown.addExitFlush`) that waits, within its `timeoutMs`, until pino's transport
 * or destination has written everything logged so far — the coordinator's report and `exit` line included —
 * so that the exit has nothing left to write (pino's own exit hook would otherwise write it synchronously
 * inside `process.exit`, outside every budget). A stalled transport is terminated at the end of the budget, so
 * that the exit cannot block; the failure is logged as `exit-flush.error` (on stderr once the transport is
 * gone) and the exit goes on with its code.
 */
export function flushPino(shutdown: Shutdown, logger: PinoLoggerLike, options: FlushPinoOptions = {}): PinoFlush {
  requireShutdown(where, shutdown, usage)
  const slot = pinoStreamSlot(logger)
  if (slot === undefined || typeof (logger as { flush?: unknown }).flush !== 'function')
    throw new InvalidOptionError(
      `logger argument of ${where}`,
      `expected a pino logger (pino() or one of its children); got ${describeArgument(logger)}`,
    )
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError(`options of ${where}`, `expected an object; got ${describeArgument(options)}`)
  checkOptions(where, options, FLUSH_PINO_OPTIONS)
  const chosen = options.name !== undefined
  const flushName = name(`name of ${where}`, options.name, PINO_DEFAULTS.name)
  const timeoutMs = duration(`timeoutMs of ${where}`, options.timeoutMs, PINO_DEFAULTS.timeoutMs, { positive: true })
  const close = options.close === undefined ? PINO_DEFAULTS.close : boolean(`close of ${where}`, options.close)

  let result: Outcome | undefined
  // From the first trigger on, a destination's 'error' (a transport whose worker died mid-shutdown) is
  // recorded for the flush to report, instead of being thrown by an EventEmitter with no listener — which
  // would crash the shutdown it happens in. Before it, the application's own handling stands.
  const watching = new ErrorWatch()
  const run = async (signal: AbortSignal) => {
    result = await flushDestinations(shutdown, slot, { timeoutMs, close, signal, watching })
    if (result.outcome === 'timeout') throw result.error
    if (result.outcome === 'failed') throw result.error
  }
  // One flush per destination: a child logger shares its parent's, and two flushes would close it twice.
  const claim = claimResource(
    shutdown,
    where,
    slot.stream as object,
    'this logger (or another logger of its destination)',
  )
  let added: Registration
  try {
    // The kit's naming policy, as for tasks: the default name numbered when taken (`pino-2`), a chosen one not.
    added = addNumbered(flushName, chosen, (n) => shutdown.addExitFlush({ name: n, timeoutMs, run }))
  } catch (error) {
    claim.release()
    throw error
  }
  claim.name(added.name)
  // Only once the registration stands: a refused one (a taken name, after the trigger) attaches nothing.
  const offTrigger = onFirstTrigger(shutdown, () => watching.start(destinationsOf(slot.stream)))
  const remove = () => {
    added.remove()
    claim.release()
    offTrigger()
  }
  return {
    name: added.name,
    remove,
    [Symbol.dispose]: remove,
    get result(): PinoFlushResult | undefined {
      if (result === undefined) return undefined
      const { error: _, ...rest } = result
      return rest
    },
  }
}

type Outcome = PinoFlushResult & { error?: Error }

async function flushDestinations(
  shutdown: Shutdown,
  slot: PinoStreamSlot,
  {
    timeoutMs,
    close,
    signal,
    watching,
  }: { timeoutMs: number; close: boolean; signal: AbortSignal; watching: ErrorWatch },
): Promise<Outcome> {
  const clock = shutdown.clock
  const start = clock.now()
  // Our own end, before the coordinator's: the last `terminateMs` are for terminating a stalled worker.
  const hardUntil = start + timeoutMs
  const until = hardUntil - Math.min(PINO_DEFAULTS.terminateMs, timeoutMs / 4)
  const timing = { clock, signal, everyMs: PINO_DEFAULTS.pollMs }
  const destinations = destinationsOf(slot.stream)
  watching.start(destinations)
  const outcomes = await Promise.all(
    destinations.map((d) =>
      flushOne(d, { ...timing, until, hardUntil, close, budgetMs: timeoutMs, errors: watching.of(d.stream) }),
    ),
  )
  // A transport that is closed or was terminated takes no more lines: what is logged after (another exit
  // flush's outcome, the coordinator's last words, with exit: false the application's) goes to stderr
  // rather than nowhere — the logger's only destination, or that destination's entry in a multistream.
  const gone = new Set(destinations.filter((_, i) => outcomes[i]?.gone).map((d) => d.stream))
  if (gone.size > 0) redirectToStderr(slot, gone)
  const error = outcomes.find((o) => o.error)?.error
  const terminated = outcomes.some((o) => o.terminated)
  const outcome: Outcome['outcome'] = error
    ? error instanceof PinoFlushTimeoutError
      ? 'timeout'
      : 'failed'
    : outcomes.some((o) => o.gone)
      ? 'closed'
      : 'flushed'
  return {
    outcome,
    streams: destinations.map((d) => d.kind),
    terminated,
    durationMs: clock.now() - start,
    ...(error ? { error } : {}),
  }
}

interface OneOptions {
  clock: Shutdown['clock']
  signal: AbortSignal
  everyMs: number
  until: number
  hardUntil: number
  close: boolean
  budgetMs: number
  /** The errors the destination emitted since the first trigger. */
  errors: unknown[]
}

interface OneOutcome {
  error?: Error
  /** The destination takes no more lines: closed, or terminated. */
  gone?: boolean
  terminated?: boolean
}

async function flushOne(d: Destination, o: OneOptions): Promise<OneOutcome> {
  switch (d.kind) {
    case 'thread-stream':
      return flushThreadStream(d.stream, d.impl, o)
    case 'sonic-boom': {
      const s = d.stream
      const destroyed = () => (s as { destroyed?: boolean }).destroyed === true
      if (destroyed()) return { error: new PinoDestinationError('the destination is destroyed') }
      const idle = () => destroyed() || sonicBoomIdle(s) === true
      if (sonicBoomIdle(s) === undefined) return viaFlushCallback(s, o)
      const { errors } = o
      if (await poll(() => idle() || errors.length > 0, o)) {
        if (errors.length > 0 || destroyed())
          return { error: new PinoDestinationError('the destination errored', { cause: errors[0] }) }
        return {}
      }
      return {
        error: new PinoFlushTimeoutError(o.budgetMs, `the destination (fd ${s.fd}) still holds ${s._len} byte(s)`),
      }
    }
    case 'writable': {
      const s = d.stream
      if (await poll(() => s.destroyed === true || s.writableLength === 0, o)) return {}
      return { error: new PinoFlushTimeoutError(o.budgetMs, `the stream still holds ${s.writableLength} byte(s)`) }
    }
    default:
      // A destination pino writes to synchronously (or one we do not know): its own flush, if it has one.
      return typeof d.stream.flush === 'function' ? viaFlushCallback(d.stream as FlushCallable, o) : {}
  }
}

interface FlushCallable {
  flush(cb: (error?: Error | null) => void): void
}

async function viaFlushCallback(s: FlushCallable, o: OneOptions): Promise<OneOutcome> {
  const flushed = new Promise<Error | null | undefined>((resolve) => {
    try {
      s.flush((error) => resolve(error))
    } catch (error) {
      resolve(error as Error)
    }
  })
  const settled = await settleBy(flushed, o.until, o)
  if (!settled.done) return { error: new PinoFlushTimeoutError(o.budgetMs, 'its flush did not call back') }
  if (settled.value) return { error: new PinoDestinationError(settled.value.message, { cause: settled.value }) }
  return {}
}

/** Errors the destinations emit, recorded rather than thrown (an 'error' without a listener throws). */
class ErrorWatch {
  readonly #errors = new Map<unknown, unknown[]>()

  start(destinations: readonly Destination[]): void {
    for (const { stream } of destinations) {
      const on = (stream as { on?: unknown }).on
      if (this.#errors.has(stream) || typeof on !== 'function') continue
      const errors: unknown[] = []
      this.#errors.set(stream, errors)
      on.call(stream, 'error', (error: unknown) => errors.push(error))
    }
  }

  of(stream: unknown): unknown[] {
    return this.#errors.get(stream) ?? []
  }
}

async function flushThreadStream(
  s: ThreadStreamLike,
  impl: Parameters<typeof failed>[0],
  o: OneOptions,
): Promise<OneOutcome> {
  const { errors } = o
  const cause = () => (errors.length > 0 ? `: ${errorMessage(errors[0])}` : '')
  // 0. Ended before the flush (the application's end()): nothing more can reach it; once it has closed, it
  // has written everything. Not a failure, and no reason to terminate a worker that is finishing its work.
  if (endedBefore(impl, s) !== undefined) {
    const ended = () => endedBefore(impl, s) === true && errors.length === 0
    if (await poll(() => ended() || endedBefore(impl, s) === undefined || errors.length > 0, o))
      if (ended()) return { gone: true }
  }
  if (failed(impl, s) || s.closed === true)
    return {
      error: new PinoDestinationError(`the transport's worker has exited${cause()}`, { cause: errors[0] }),
      gone: true,
    }
  if (impl === undefined) return viaFlushCallback(s, o)
  const dead = () => failed(impl, s) || errors.length > 0
  const deadError = () =>
    new PinoDestinationError(
      `the transport failed: ${errors.length > 0 ? errorMessage(errors[0]) : 'its worker exited'}`,
      {
        cause: errors[0],
      },
    )
  // 1. Until the worker has taken everything from the main thread's buffer and the shared one.
  const taken = await poll(() => handedOver(impl) || dead(), o)
  if (dead()) return { error: deadError(), gone: true }
  if (taken) {
    if (o.close) {
      // 2. Close: the worker ends its destination(s); one that has closed has written everything.
      if (beginEnd(impl) && (await poll(() => destinationClosed(impl) || dead(), o))) {
        if (dead() && !destinationClosed(impl)) return { error: deadError(), gone: true }
        return { gone: true }
      }
    } else {
      // 2'. Only flush: thread-stream 4 asks its worker to flush the destination (not pino's `targets`).
      const out = await viaFlushCallback(s, o)
      if (!out.error || out.error instanceof PinoDestinationError) return out
    }
  }
  if (dead()) return { error: deadError(), gone: true }
  // 3. Out of time: terminate the worker, so that pino's exit hook finds the stream destroyed and returns at
  // once instead of blocking process.exit for up to 10 s (thread-stream's flushSync/end spins). What it still
  // held is lost either way.
  const why = describeThreadStream(impl)
  s.worker.terminate().catch(() => {})
  await poll(() => impl.destroyed || s.closed === true, { clock: o.clock, everyMs: o.everyMs, until: o.hardUntil })
  return {
    error: new PinoFlushTimeoutError(o.budgetMs, `${why}; the transport's worker was terminated`),
    gone: true,
    terminated: true,
  }
}

/**
 * The lines that would go to a destination of `gone` go to stderr from now on, written synchronously: the
 * transport takes no more. The logger's own destination is replaced, or its entries in a multistream.
 */
function redirectToStderr(slot: PinoStreamSlot, gone: ReadonlySet<unknown>): void {
  if (gone.has(slot.stream)) slot.owner[slot.key] = stderrWriter()
  else replaceInMultistreams(slot.stream, gone, stderrWriter)
}

function stderrWriter() {
  return {
    write(line: string) {
      try {
        writeSync(2, line)
      } catch {
        // stderr closed: nowhere left to write
      }
      return true
    },
    // What a multistream's end() and flushSync() call on each of its streams.
    flushSync() {},
    end() {},
  }
}
