/** Every default of `@lameduck/pg`, in one place: the code reads them from here (the README states them). */
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
  /** How often the pool close checks whether the pool has ended. */
  pollMs: 10,
  /** Type of the value column of `pgSink`. */
  valueType: 'text',
} as const
