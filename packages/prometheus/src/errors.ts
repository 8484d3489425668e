import { LameduckError } from '@lameduck/core'
import { errorMessage } from '@lameduck/core/adapter'

/**
 * The final push to the Pushgateway failed after its retries, or no time was left for it (the task is
 * not critical by default: the exit code is unchanged). `cause` is the last attempt's error.
 */
export class PushFailedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_PUSH_FAILED'

  constructor(
    /** The push task's name. */
    readonly task: string,
    readonly url: string,
    /** Attempts made (0: no time was left for one). */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause
    const why = cause === undefined ? 'no time left' : errorMessage(cause)
    super(
      'LAMEDUCK_ERR_PUSH_FAILED',
      `${task}: could not push to ${url} (${attempts} attempt${attempts === 1 ? '' : 's'}): ${why}`,
      cause === undefined ? undefined : { cause },
    )
  }
}

/**
 * The closed catalogues of the codes `@lameduck/prometheus` throws or records — `LAMEDUCK_ERR_PUSH_FAILED`
 * is {@link PushFailedError} — and of its warning codes: none (a failed push is its task's error).
 */
export const PROMETHEUS_ERROR_CODES = ['LAMEDUCK_ERR_PUSH_FAILED'] as const
export const PROMETHEUS_WARNING_CODES = [] as const

/** A code of {@link PROMETHEUS_ERROR_CODES}. */
export type PrometheusErrorCode = (typeof PROMETHEUS_ERROR_CODES)[number]
/** A code of {@link PROMETHEUS_WARNING_CODES}: there is none. */
export type PrometheusWarningCode = (typeof PROMETHEUS_WARNING_CODES)[number]
