import { duration } from './adapter/options.js'
import type { Clock } from './clock.js'
import { DEFAULTS } from './defaults.js'
import { errorMessage, InvalidOptionError } from './errors.js'
import type { Logger } from './logger.js'
import { checkOptions } from './validate.js'

/**
 * The very last work before the process exits (`shutdown.addExitFlush`): after the report and the `exit`
 * log line are written, before the exit function is called — e.g. waiting for a log transport's worker to
 * write out what it still buffers, so that the exit itself has nothing left to write.
 */
export interface ExitFlushSpec {
  /** Unique among the coordinator's exit flushes; shown in the log. */
  name: string
  /**
   * Its budget: reserved out of the grace period (the run's last phase ends this much earlier), and never
   * past the watchdog. Default: {@link DEFAULTS}`.exitFlushTimeoutMs`.
   */
  timeoutMs?: number
  /**
   * The flush; `signal` aborts at its deadline. A throw, a rejection or a timeout is logged (there is no
   * report left to record it in) and the exit goes on.
   */
  run: (signal: AbortSignal) => unknown
}

export interface ExitFlush {
  readonly name: string
  readonly timeoutMs: number
  readonly run: ExitFlushSpec['run']
}

export function normalizeExitFlush(spec: ExitFlushSpec): ExitFlush {
  if (spec === null || typeof spec !== 'object') throw new InvalidOptionError('addExitFlush', 'expected { name, run }')
  checkOptions('addExitFlush', spec, ['name', 'timeoutMs', 'run'])
  if (typeof spec.name !== 'string' || spec.name.trim() === '')
    throw new InvalidOptionError('addExitFlush name', 'expected a non-empty string')
  if (typeof spec.run !== 'function')
    throw new InvalidOptionError(`exit flush "${spec.name}".run`, `expected a function, got ${typeof spec.run}`)
  // Above 0, as every other timeout the coordinator runs something within: a flush of 0 ms could do nothing.
  const timeoutMs = duration(`exit flush "${spec.name}".timeoutMs`, spec.timeoutMs, DEFAULTS.exitFlushTimeoutMs, {
    positive: true,
  })
  return { name: spec.name, timeoutMs, run: spec.run }
}

/** The time the exit flushes reserve: the longest one's `timeoutMs` (they run side by side). */
export function exitFlushReserveMs(flushes: Iterable<ExitFlush>): number {
  let reserved = 0
  for (const flush of flushes) reserved = Math.max(reserved, flush.timeoutMs)
  return reserved
}

/**
 * Runs the exit flushes side by side, each until its timeout or `until` (the watchdog), whichever comes
 * first. Never rejects: what fails or runs out of time is logged.
 */
export async function runExitFlushes(
  flushes: readonly ExitFlush[],
  until: number,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  await Promise.all(
    flushes.map(async (flush) => {
      const start = clock.now()
      const ms = Math.max(0, Math.min(flush.timeoutMs, until - start))
      const controller = new AbortController()
      let timer: unknown
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = clock.setTimeout(() => resolve('timeout'), ms)
      })
      try {
        const outcome = await Promise.race([
          (async () => {
            await flush.run(controller.signal)
            return 'ok' as const
          })(),
          timedOut,
        ])
        if (outcome === 'timeout') {
          controller.abort(new Error(`exit flush ${flush.name} ran out of time (${ms} ms)`))
          logger.warn(
            { event: 'exit-flush.timeout', flush: flush.name, budgetMs: ms },
            `exit flush ${flush.name} did not finish in ${ms} ms; exiting anyway`,
          )
        }
      } catch (error) {
        logger.warn(
          { event: 'exit-flush.error', flush: flush.name, error: errorMessage(error) },
          `exit flush ${flush.name} failed: ${errorMessage(error)}; exiting anyway`,
        )
      } finally {
        clock.clearTimeout(timer)
      }
    }),
  )
}
