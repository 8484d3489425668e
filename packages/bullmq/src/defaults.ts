/**
 * Every default of `@lameduck/bullmq`, in one place: the README's option table is checked against it by a test,
 * and the TSDoc of each option refers to it instead of repeating the number.
 */
export const BULLMQ_DEFAULTS = {
  /** The first worker's task; further workers get `bullmq-worker-2`, `bullmq-worker-3`, … */
  name: 'bullmq-worker',
  /** With the servers: the worker stops taking jobs once readiness is down and the drain delay is over. */
  phase: 'drain',
  /**
   * How long the active jobs get to finish. What still runs at its end goes back to the queue: size it to the
   * jobs you want to see finish, within the pod's grace period.
   */
  timeoutMs: 10_000,
  /** Jobs still running at the end of the budget make the exit code non-zero (they were cut, not lost). */
  critical: true,
  /**
   * The jobs' AbortSignal aborts this long before the return: a processor that watches it can stop, and a job
   * whose processor then rejects goes back to the queue too, not to `failed`.
   */
  cancelMs: 1_000,
  /**
   * Kept at the end of the budget to move the jobs still running back to the queue (one script each, all at
   * once) and to close the worker's connections.
   */
  returnMs: 500,
} as const
