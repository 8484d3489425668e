import { LameduckError } from '@lameduck/core'

/** A write after the cache's shutdown flush: it would never reach the sink, so it is refused. */
export class CacheClosedError extends LameduckError {
  constructor(readonly cache: string) {
    super(
      'LAMEDUCK_ERR_CACHE_CLOSED',
      `cache "${cache}" has been flushed for shutdown and accepts no more writes; the value was not stored`,
    )
  }
}

/** A value the cache cannot encode for its sink (undefined, a function, a symbol, a bigint, a cycle). */
export class InvalidCacheValueError extends LameduckError {
  constructor(
    readonly key: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super('LAMEDUCK_ERR_CACHE_VALUE', `cannot cache "${key}": ${why}`, options)
  }
}

/** The shutdown flush ran out of budget (or the sink kept failing) with entries still unwritten. */
export class CacheFlushIncompleteError extends LameduckError {
  constructor(
    readonly cache: string,
    readonly flushed: number,
    readonly left: number,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? `; last sink error: ${options.cause.message}` : ''
    super(
      'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE',
      `cache "${cache}": flushed ${flushed} entries, ${left} left unwritten when the budget ran out${why}`,
      options,
    )
  }
}
