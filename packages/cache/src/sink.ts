/** One entry on its way to a sink: the cache key and its encoded value (strings as-is, others JSON). */
export interface SinkEntry {
  key: string
  value: string
}

/**
 * Where a write-behind cache writes its dirty entries. `write` receives batches of at most `maxBatch`
 * entries and may be retried with the same entries after a failure, so it must be idempotent (an
 * upsert). It should stop when `signal` aborts: the budget has run out.
 */
export interface Sink {
  write(batch: readonly SinkEntry[], signal: AbortSignal): Promise<void>
}
