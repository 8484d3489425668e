/** The flush task of a cache or buffer: in the `flush` phase, critical (entries left unwritten are data lost). */
const flushTaskNamed = <const N extends string>(name: N) =>
  ({ name, phase: 'flush', timeoutMs: 5_000, critical: true }) as const

/**
 * Every default of `@lameduck/cache`, in one place: the code reads them from here, the README's option
 * tables are checked against it (a test) and the TSDoc refers to it.
 */
export const CACHE_DEFAULTS = {
  /** The shutdown flush task of `createWriteBehind`; the name is numbered when taken (`write-behind-2`, …). */
  writeBehind: flushTaskNamed('write-behind'),
  /** The task `flushTask` registers for a buffer of your own (numbered the same way: `flush-task-2`, …). */
  flushTask: flushTaskNamed('flush-task'),
  /** Background flushes of dirty entries; 0 turns them off (then only the shutdown, a full cache and `flush()` write). */
  flushIntervalMs: 1_000,
  /** Entries per `sink.write`. */
  maxBatch: 1_000,
  /** Batches written at the same time. */
  concurrency: 4,
  /** First retry delay after a sink failure (of the whole sink, or of one entry); doubles up to `maxRetryDelayMs`. */
  retryDelayMs: 50,
  /** Longest delay between two retries. */
  maxRetryDelayMs: 1_000,
  /**
   * Entries held in memory, written or not. Past it, clean entries are let go (least recently used
   * first); when every entry is still unwritten, `set()` throws `CacheFullError`. 100,000 entries of a
   * short key and ~50 characters of value held 22–44 MB of heap in the cache-memory bench.
   */
  maxEntries: 100_000,
  /**
   * Estimated memory held, in bytes (see `ENTRY_OVERHEAD_BYTES`): the same rule as `maxEntries`, for
   * caches of large values. 64 MiB.
   */
  maxBytes: 64 * 1024 * 1024,
  /** Keep written values for `get()` (bounded by the limits above); `false` drops each one once written. */
  retainClean: true,
} as const

/**
 * What one entry costs on top of the characters of its key and encoded value, in the `maxBytes`
 * estimate: its slots in the cache's maps, its dirty record, the string and object headers, the value
 * object kept for `get()`. Measured on Node 20 (64-bit), live heap after GC, entries of a 7-character
 * key and ~50 characters of JSON: 265 bytes each unwritten and 219 written (string values), 305 and 139
 * (plain objects); and in a full cache letting written entries go while a slow sink catches up (the
 * cache-memory bench, object values) 370–545, depending on how full the maps' tables are (a map's
 * capacity is a power of two: just past one, it is half empty — 66,334 entries under a 32 MiB bound held
 * 543 bytes each). This figure covers the worst of those with a margin, so the estimate errs on the side
 * of more memory (for small string values by up to ~2.4×). Strings built by concatenation (V8's cons
 * strings) can cost more than their characters say.
 */
export const ENTRY_OVERHEAD_BYTES = 600
