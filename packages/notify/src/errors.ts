import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/notify` throws or records: {@link NotifyFailedError}. */
export const NOTIFY_ERROR_CODES = ['LAMEDUCK_ERR_NOTIFY_FAILED'] as const

/** The warning codes `@lameduck/notify` emits of its own: none. */
export const NOTIFY_WARNING_CODES = [] as const

/** One attempt, as the result records it. */
export interface NotifyAttempt {
  /** The HTTP status, when a response came. */
  status?: number
  /** What went wrong without a response (a refused connection, the attempt's timeout). */
  error?: string
  durationMs: number
}

/** What `notify` did, once its task has run (also in the task's report entry, `details`). */
export interface NotifyResult {
  /** Whether the endpoint answered 2xx. */
  ok: boolean
  url: string
  /** The last attempt's HTTP status, when one answered. */
  status?: number
  attempts: NotifyAttempt[]
  idempotencyKey: string | undefined
  /** The start of the last response's body (at most `NOTIFY_DEFAULTS.responseBytes` bytes of it). */
  response?: string
  durationMs: number
}

/**
 * The endpoint was not told: every attempt failed (a 5xx, 429 or 408, a transport error or the attempt's
 * timeout) until the attempts or the budget ran out, or it answered a status that is not retried (another
 * 4xx). The message says which; `result` has every attempt. Code `LAMEDUCK_ERR_NOTIFY_FAILED`.
 */
export class NotifyFailedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_NOTIFY_FAILED'

  constructor(
    readonly result: NotifyResult,
    why: string,
  ) {
    super('LAMEDUCK_ERR_NOTIFY_FAILED', `${result.url} was not told of the shutdown: ${why}`)
  }
}

/** A code of {@link NOTIFY_ERROR_CODES}. */
export type NotifyErrorCode = (typeof NOTIFY_ERROR_CODES)[number]
/** A code of {@link NOTIFY_WARNING_CODES} (none: `never`). */
export type NotifyWarningCode = (typeof NOTIFY_WARNING_CODES)[number]
