import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/bullmq` throws or records, each with its class. */
export const BULLMQ_ERROR_CODES = [
  /** {@link JobCancelledError} */
  'LAMEDUCK_ERR_BULLMQ_JOB_CANCELLED',
  /** {@link BullmqJobsReturnedError} */
  'LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED',
  /** {@link BullmqRedisUnavailableError} */
  'LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE',
  /** {@link BullmqCloseTimeoutError} */
  'LAMEDUCK_ERR_BULLMQ_CLOSE_TIMEOUT',
] as const

/** The warning codes `@lameduck/bullmq` emits. */
export const BULLMQ_WARNING_CODES = [
  /** This worker lacks the method jobs are intercepted through (`callProcessJob`): see the README. */
  'LAMEDUCK_WARN_BULLMQ_INTERNALS',
] as const

/** What `stopWorker` did, once its task has run. */
export interface BullmqStopStats {
  /** Jobs running when the drain began. */
  activeAtStart: number
  /** Jobs BullMQ had already fetched when the drain began and started during it (it processes what it fetched). */
  startedDuringDrain: number
  /** Jobs whose processor settled by itself during the drain: BullMQ completed or failed them, as it would have. */
  finished: number
  /** Jobs still running `cancelMs` before the return, whose AbortSignal was aborted then. */
  cancelled: number
  /** Jobs moved back to wait by the drain (their lock released, attempts not counted): another worker takes them at once. */
  returned: number
  /**
   * Jobs that could not be moved back: Redis failed or did not answer in time. They stay `active` until their lock
   * expires (`lockDuration`) and a worker's stalled-job check moves them back (or fails them past `maxStalledCount`).
   */
  notReturned: number
  /** Jobs this worker no longer held when it came to return them (their lock had expired or been taken). */
  lost: number
  /**
   * Jobs whose processor finished but whose result BullMQ had not recorded when the budget ran out (Redis failed
   * or did not answer): as `notReturned`, they are left to the stalled-job check.
   */
  unrecorded: number
  /** Whether `worker.close()` finished within the budget: the worker's own connections closed with `QUIT`. */
  closed: boolean
  /** Whether the worker's connections had to be dropped (`worker.disconnect()`) because `close()` had not finished. */
  disconnected: boolean
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
}

/**
 * The abort reason of a job's AbortSignal at the drain: the worker's budget is nearly gone. Stop the job (throw,
 * `signal.throwIfAborted()`): it goes back to the queue for another worker, without counting as a failed attempt.
 */
export class JobCancelledError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_BULLMQ_JOB_CANCELLED'

  constructor(
    readonly jobId: string | undefined,
    readonly task: string,
  ) {
    super(
      'LAMEDUCK_ERR_BULLMQ_JOB_CANCELLED',
      `job ${jobId ?? '(no id)'} cancelled: the worker is shutting down (${task}) and its budget is nearly gone; ` +
        'the job goes back to the queue',
    )
  }
}

/**
 * Jobs still running when the budget ran out were moved back to wait (their lock released with their token, their
 * attempts not counted), so another worker took them at once instead of after the stalled-job check. Nothing was
 * lost; the work of those jobs is done again from the start.
 */
export class BullmqJobsReturnedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED'

  constructor(readonly stats: BullmqStopStats) {
    super(
      'LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED',
      `${stats.returned} job(s) still running at the end of the budget were moved back to wait for another worker` +
        `${stats.lost > 0 ? ` (${stats.lost} more were no longer this worker's: their lock had expired)` : ''}; ` +
        `${stats.finished} finished`,
    )
  }
}

/**
 * Redis failed or did not answer during the drain: some jobs could not be moved back or their result could not be
 * recorded, or the worker's connections could not be closed and were dropped. Those jobs stay `active` until their
 * lock expires and a stalled-job check moves them back: BullMQ's own guarantee, later than lameduck's.
 */
export class BullmqRedisUnavailableError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE'

  constructor(
    readonly stats: BullmqStopStats,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    const left = stats.notReturned + stats.unrecorded
    super(
      'LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE',
      `Redis failed during the drain (${detail}): ${stats.notReturned} job(s) could not be moved back to wait and ` +
        `${stats.unrecorded} finished job(s) were not recorded — ${left} stay active until their lock expires ` +
        `and a stalled-job check moves them; ${stats.returned} returned, ${stats.finished} finished` +
        `${stats.disconnected ? "; the worker's connections were dropped" : ''}`,
      options,
    )
  }
}

/**
 * `worker.close()` had not finished a little before the deadline, though no Redis command was known to fail: the
 * worker's own connections were dropped (`disconnect()`). Jobs this drain could not see (a Worker without
 * `callProcessJob`, see the README) or that BullMQ was still recording stay `active` until their lock expires.
 */
export class BullmqCloseTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_BULLMQ_CLOSE_TIMEOUT'

  constructor(
    readonly stats: BullmqStopStats,
    readonly waitedMs: number,
  ) {
    super(
      'LAMEDUCK_ERR_BULLMQ_CLOSE_TIMEOUT',
      `worker.close() had not finished ${Math.round(waitedMs)} ms after the drain began: ` +
        `${stats.disconnected ? "the worker's connections were dropped" : "the worker's connection is the client the application passed, left open for it to close"}; ` +
        'jobs still active in Redis stay so until their lock expires and a stalled-job check moves them',
    )
  }
}

/** A code of {@link BULLMQ_ERROR_CODES}. */
export type BullmqErrorCode = (typeof BULLMQ_ERROR_CODES)[number]
/** A code of {@link BULLMQ_WARNING_CODES}. */
export type BullmqWarningCode = (typeof BULLMQ_WARNING_CODES)[number]
