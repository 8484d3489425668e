import { LameduckError } from '@lameduck/core'

/**
 * The closed catalogues of the codes `@lameduck/cache` throws or records — `LAMEDUCK_ERR_CACHE_CLOSED` is
 * {@link CacheClosedError}, `LAMEDUCK_ERR_CACHE_VALUE` {@link InvalidCacheValueError},
 * `LAMEDUCK_ERR_CACHE_FULL` {@link CacheFullError}, `LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE`
 * {@link CacheFlushIncompleteError} — and of the warnings it emits through the coordinator
 * (`shutdown.on('warning')` and the log): `LAMEDUCK_WARN_CACHE_ENTRIES_FAILING`, the sink refuses some
 * entries even written alone (they stay dirty and are retried with backoff).
 */
export const CACHE_ERROR_CODES = [
  'LAMEDUCK_ERR_CACHE_CLOSED',
  'LAMEDUCK_ERR_CACHE_VALUE',
  'LAMEDUCK_ERR_CACHE_FULL',
  'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE',
] as const
export const CACHE_WARNING_CODES = ['LAMEDUCK_WARN_CACHE_ENTRIES_FAILING'] as const

/**
 * A write the cache can no longer carry to its sink: its shutdown flush is over (written, timed out,
 * skipped or abandoned at exit). Refused instead of accepted and lost.
 */
export class CacheClosedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_CACHE_CLOSED'

  constructor(
    readonly cache: string,
    why = 'has been flushed for shutdown',
  ) {
    super('LAMEDUCK_ERR_CACHE_CLOSED', `cache "${cache}" accepts no more writes: it ${why}; the value was not stored`)
  }
}

/**
 * A value the cache will not store because it could not give it back unchanged: JSON cannot hold it, or
 * would store something else (NaN as null, a Date as a string, a Map as {}). Or a key that is not a string.
 */
export class InvalidCacheValueError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_CACHE_VALUE'

  constructor(
    readonly key: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super('LAMEDUCK_ERR_CACHE_VALUE', `cannot cache ${JSON.stringify(key)}: ${why}`, options)
  }
}

/**
 * `set()` found the cache at its `maxEntries` / `maxBytes` with nothing written to let go: the sink is
 * slower than the writers. The value was not stored.
 */
export class CacheFullError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_CACHE_FULL'

  constructor(
    readonly cache: string,
    readonly entries: number,
    readonly bytes: number,
    readonly maxEntries: number,
    readonly maxBytes: number,
    /** The estimated size of the refused entry alone. */
    readonly entryBytes: number,
  ) {
    const why =
      entryBytes > maxBytes
        ? `this entry alone (~${entryBytes} bytes) is larger than maxBytes (${maxBytes})`
        : `it holds ${entries} entries (maxEntries ${maxEntries}) and ~${bytes} bytes (maxBytes ${maxBytes}), ` +
          'none of them written yet: the sink is slower than the writers'
    super(
      'LAMEDUCK_ERR_CACHE_FULL',
      `cache "${cache}" is full: ${why}; the value was not stored (setOrWait() waits for room instead)`,
    )
  }
}

/** The shutdown flush ran out of budget (or the sink kept refusing entries) with entries still unwritten. */
export class CacheFlushIncompleteError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE'

  constructor(
    readonly cache: string,
    readonly flushed: number,
    readonly left: number,
    options?: { cause?: unknown; refused?: number },
  ) {
    const refused = options?.refused ?? 0
    const which = refused > 0 ? ` (${refused} of them refused by the sink when written alone)` : ''
    const why = options?.cause instanceof Error ? `; last sink error: ${options.cause.message}` : ''
    super(
      'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE',
      `cache "${cache}": flushed ${flushed} entries, ${left} left unwritten${which} when the budget ran out${why}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.refused = refused
  }

  /** How many of the entries left had been refused by the sink when written alone. */
  readonly refused: number
}

/** A code of {@link CACHE_ERROR_CODES}. */
export type CacheErrorCode = (typeof CACHE_ERROR_CODES)[number]
/** A code of {@link CACHE_WARNING_CODES}. */
export type CacheWarningCode = (typeof CACHE_WARNING_CODES)[number]
