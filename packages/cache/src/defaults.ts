/** Every default of `@lameduck/cache`, in one place. */
export const CACHE_DEFAULTS = {
  /** Background flushes of dirty entries; 0 turns them off (then only the shutdown flushes). */
  flushIntervalMs: 1_000,
  maxBatch: 1_000,
  /** Batches written at the same time. */
  concurrency: 4,
  /** Budget of the shutdown flush task. */
  timeoutMs: 5_000,
  /** First retry delay after a sink failure; doubles up to `maxRetryDelayMs`. */
  retryDelayMs: 50,
  maxRetryDelayMs: 1_000,
} as const
