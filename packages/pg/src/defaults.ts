import { LOCK_RETRY_DEFAULTS } from '@lameduck/core/adapter'

/**
 * Every default of `@lameduck/pg`, in one place: the code reads them from here, the README states them
 * (a test checks it) and the TSDoc refers to them.
 */
export const PG_DEFAULTS = {
  /** The task `closePool` registers (`pg-pool-2`, … for further pools of one coordinator). */
  pool: { name: 'pg-pool', phase: 'close', timeoutMs: 5_000, critical: true },
  /** The task `createAdvisoryLocks` registers: unlocks every advisory lock and gives the connection back. */
  locks: { name: 'pg-advisory-locks', phase: 'release', timeoutMs: 2_000, critical: true },
  /**
   * `waitMs` (how long `acquire` retries a lock another session holds; 0: one attempt only), `retryDelayMs`
   * (the mean delay between two attempts) and `retryJitter`: the retry of every lock adapter, from the kit.
   */
  ...LOCK_RETRY_DEFAULTS,
  /** How often the pool close checks whether the pool has ended. */
  pollMs: 10,
  /** Type of the value column of `pgSink`. */
  valueType: 'text',
} as const
