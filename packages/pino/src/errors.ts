import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/pino` records (in the `exit-flush.error` log line). */
export const PINO_ERROR_CODES = [
  /** What was logged was not all written within the flush's budget: a stalled or slow destination. */
  'LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT',
  /** The transport or destination failed while flushing: its worker exited, a destination errored. */
  'LAMEDUCK_ERR_PINO_DESTINATION_FAILED',
] as const

/** The warning codes `@lameduck/pino` emits of its own: none. */
export const PINO_WARNING_CODES = [] as const

/** What the exit flush did, once it has run (`flushPino(...).result`). */
export interface PinoFlushResult {
  /**
   * `flushed`: everything written; `closed`: everything written and the transport closed; `timeout`: the
   * budget ran out (a transport's worker was then terminated); `failed`: the destination failed.
   */
  outcome: 'flushed' | 'closed' | 'timeout' | 'failed'
  /** The destinations waited for: `thread-stream` (pino.transport), `sonic-boom` (pino.destination), … */
  streams: string[]
  /** Whether a stalled transport's worker had to be terminated (what it still held is lost). */
  terminated: boolean
  durationMs: number
}

/**
 * The budget ran out before the destination had written what was logged: the message says where it was
 * held (the main thread's buffer, the worker's, the destination's). A transport's worker is terminated so
 * that the exit does not block in pino's exit hook. Code `LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT`.
 */
export class PinoFlushTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT'

  constructor(
    readonly budgetMs: number,
    readonly where: string,
  ) {
    super('LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT', `pino's destination did not write everything in ${budgetMs} ms: ${where}`)
  }
}

/**
 * The destination failed while being flushed: the transport's worker exited or a destination emitted an
 * error. What it still held is lost. Code `LAMEDUCK_ERR_PINO_DESTINATION_FAILED`.
 */
export class PinoDestinationError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_PINO_DESTINATION_FAILED'

  constructor(why: string, options?: { cause?: unknown }) {
    super('LAMEDUCK_ERR_PINO_DESTINATION_FAILED', `pino's destination failed while flushing: ${why}`, options)
  }
}

/** A code of {@link PINO_ERROR_CODES}. */
export type PinoErrorCode = (typeof PINO_ERROR_CODES)[number]
/** A code of {@link PINO_WARNING_CODES} (none: `never`). */
export type PinoWarningCode = (typeof PINO_WARNING_CODES)[number]
