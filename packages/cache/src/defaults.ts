/** Every default of `@lameduck/cache`, in one place. The README's options table is checked against it. */
export const CACHE_DEFAULTS = {
  /** Background flushes of dirty entries; 0 turns them off (then only the shutdown, a full cache and `flush()` write). */
  flushIntervalMs: 1_000,
  maxBatch: 1_000,
  /** Batches written at the same time. */
  concurrency: 4,
  /** Budget of the shutdown flush task. */
  timeoutMs: 5_000,
  /** First retry delay after a sink failure (of the whole sink, or of one entry); doubles up to `maxRetryDelayMs`. */
  retryDelayMs: 50,
  maxRetryDelayMs: 1_000,
  /**
   * Entries held in memory, written or not. Past it, clean entries are let go (least recently used
   * first); when every entry is still unwritten, `set()` throws `CacheFullError`. 100,000 entries of a
   * short key and a ~50-character value hold about 25 MB of heap.
   */
  maxEntries: 100_000,
  /**
   * Estimated memory held, in bytes (see `ENTRY_OVERHEAD_BYTES`): the same rule as `maxEntries`, for
   * caches of large values. 64 MiB.
   */
  maxBytes: 64 * 1024 * 1024,
  /** Keep written values for `get()` (bounded by the limits above); `false` drops each one once written. */
  retainClean: true,
  critical: true,
} as const

/**
 * What one entry costs on top of its key and encoded value, in the `maxBytes` estimate: its slots in the
 * cache's maps, its dirty record, the string headers. Measured with the cache-memory bench on Node 20
 * (64-bit, no pointer compression): 1,000,000 distinct entries of an 8-character key and a 45-character
 * value grew the heap by about 230 bytes per entry, 53 of which are the characters themselves.
 */
export const ENTRY_OVERHEAD_BYTES = 180
