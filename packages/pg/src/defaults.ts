/** Every default of `@lameduck/pg`, in one place: the code and the README's tables read from here. */
export const PG_DEFAULTS = {
  /** Name of the `close`-phase task registered by `closePool` (`pg-pool-2`, … for further pools). */
  poolTaskName: 'pg-pool',
  /** Budget of the pool close: how long checked-out clients may take to be released. */
  poolTimeoutMs: 5_000,
  /** Name of the `release`-phase task registered by `createAdvisoryLocks`. */
  locksTaskName: 'pg-advisory-locks',
  /** Budget of the advisory-lock release task. */
  locksTimeoutMs: 2_000,
  /** How long `acquire` retries a lock held by another session; 0 = try once. */
  waitMs: 0,
  /** Pause between two attempts of `acquire` while `waitMs` lasts. */
  retryMs: 50,
  /** Whether a failure of the tasks makes the shutdown's exit code non-zero. */
  critical: true,
  /**
   * Forced closes happen this long (or a tenth of what is left, if less) before a task's own deadline,
   * so that the task reports counts instead of a generic timeout.
   */
  forceMarginMs: 50,
  /** How often the pool close checks whether the pool has ended. */
  pollMs: 10,
  /** Type of the value column of `pgSink`. */
  valueType: 'text',
} as const

/** Time to stop a task's own work before its deadline: `min(forceMarginMs, remaining / 10)`. */
export function forceMargin(remainingMs: number): number {
  return Math.min(PG_DEFAULTS.forceMarginMs, remainingMs / 10)
}
