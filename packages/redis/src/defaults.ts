/** Every default of `@lameduck/redis`, in one place. */
export const REDIS_DEFAULTS = {
  /** Prefix of every lock key; the fencing counter lives at `${keyPrefix}${key}:fence`. */
  lockKeyPrefix: 'lock:',
  /** Whether a task of this package that fails makes the exit code non-zero. */
  critical: true,
  /** Name of the lock-release task (`release` phase). */
  locksTaskName: 'redis-locks',
  /** Budget of the lock-release task. */
  locksTimeoutMs: 3_000,
  /** How long `acquire` waits for a held lock. 0: one attempt only. */
  waitMs: 0,
  /** Mean delay between two attempts of a waiting `acquire`; each delay is jittered ±50%. */
  retryDelayMs: 50,
  /** Releases per pipeline when releasing many locks at once. */
  releaseBatchSize: 500,
  /** Name of the client-quit task (`close` phase). */
  quitTaskName: 'redis-quit',
  /** Budget of the client-quit task. */
  quitTimeoutMs: 2_000,
} as const
