import { InvalidOptionError, type Phase } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  boolean,
  checkOptions,
  count,
  duration,
  optionalFunction,
  orDefault,
  type ResolvedTaskOptions,
  requireClient,
  requireShutdown,
  taskOptions,
} from '@lameduck/core/adapter'
import { CACHE_DEFAULTS } from './defaults.js'
import type { Encoder } from './encode.js'
import type { Sink, SinkEntry } from './sink.js'

/** An entry the cache could not write, handed to `onUnflushed`, with why. */
export interface UnflushedEntry extends SinkEntry {
  /**
   * Why it was not written: the sink's own error when the sink refused it written alone; otherwise what
   * ended the flush (`CacheFlushIncompleteError`, or the coordinator's `TaskSkippedError`,
   * `TaskTimeoutError`, `TaskAbandonedError`).
   */
  error: Error
}

/**
 * The options of `createWriteBehind`: the shared task options (`name`, `phase`, `timeoutMs`, `critical`)
 * and the cache's own. Every default is in {@link CACHE_DEFAULTS}.
 */
export interface WriteBehindOptions<V = unknown> extends AdapterTaskOptions {
  /** Where dirty entries go. */
  sink: Sink
  /**
   * Name in logs, metrics and of the shutdown task. Default: {@link CACHE_DEFAULTS}`.writeBehind.name`,
   * numbered when taken (`write-behind-2`, …); a name you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** When the shutdown flush runs. Default: {@link CACHE_DEFAULTS}`.writeBehind.phase`. */
  phase?: Phase
  /** Budget of the shutdown flush. Default: {@link CACHE_DEFAULTS}`.writeBehind.timeoutMs`. */
  timeoutMs?: number
  /** Whether entries left unwritten make the exit code non-zero. Default: {@link CACHE_DEFAULTS}`.writeBehind.critical`. */
  critical?: boolean
  /**
   * Background flush interval in ms; 0: no periodic flush (the shutdown, a full cache and `flush()` still
   * write). Default: {@link CACHE_DEFAULTS}`.flushIntervalMs`.
   */
  flushIntervalMs?: number
  /** Entries per `sink.write`. Default: {@link CACHE_DEFAULTS}`.maxBatch`. */
  maxBatch?: number
  /** Batches written at the same time. Default: {@link CACHE_DEFAULTS}`.concurrency`. */
  concurrency?: number
  /**
   * First delay before retrying a failed write (the whole sink, or one entry); doubles up to
   * `maxRetryDelayMs`. Default: {@link CACHE_DEFAULTS}`.retryDelayMs`.
   */
  retryDelayMs?: number
  /** Longest delay between retries (at least `retryDelayMs`). Default: {@link CACHE_DEFAULTS}`.maxRetryDelayMs`. */
  maxRetryDelayMs?: number
  /** Entries held in memory, written or not (`Infinity`: no limit). Default: {@link CACHE_DEFAULTS}`.maxEntries`. */
  maxEntries?: number
  /** Estimated bytes held in memory (`Infinity`: no limit). Default: {@link CACHE_DEFAULTS}`.maxBytes`. */
  maxBytes?: number
  /**
   * Keep written values for `get()`, within the limits; `false`: let each go once written.
   * Default: {@link CACHE_DEFAULTS}`.retainClean`.
   */
  retainClean?: boolean
  /**
   * Turns a value into the text the sink stores, instead of the default (strings as they are, the rest as
   * JSON, refusing what JSON would change). Throw to refuse a value.
   */
  encode?: Encoder<V>
  /**
   * Last resort for every entry the cache accepted but could not write — whatever ended the flush:
   * budget spent, the flush task skipped, the process exiting (watchdog, second SIGINT). Called once,
   * synchronously, before the exit: do synchronous work (e.g. `fs.appendFileSync`).
   */
  onUnflushed?: (entries: UnflushedEntry[]) => void
}

export const OPTION_NAMES = [
  'sink',
  'name',
  'phase',
  'timeoutMs',
  'critical',
  'flushIntervalMs',
  'maxBatch',
  'concurrency',
  'retryDelayMs',
  'maxRetryDelayMs',
  'maxEntries',
  'maxBytes',
  'retainClean',
  'encode',
  'onUnflushed',
] as const satisfies readonly (keyof WriteBehindOptions)[]

export interface ResolvedCacheOptions<V> {
  sink: Sink
  task: ResolvedTaskOptions
  flushIntervalMs: number
  maxBatch: number
  concurrency: number
  retryDelayMs: number
  maxRetryDelayMs: number
  maxEntries: number
  maxBytes: number
  retainClean: boolean
  encode: Encoder<V> | undefined
  onUnflushed: ((entries: UnflushedEntry[]) => void) | undefined
}

const WHERE = 'createWriteBehind'

/**
 * Validates `createWriteBehind`'s arguments with the kit's validators: unknown keys refused (with "did
 * you mean"), `undefined` means the default and anything else of the wrong type — `null` included — is
 * refused; a wrong duration is an `InvalidDurationError`, any other wrong value an `InvalidOptionError`.
 */
export function resolveCacheOptions<V>(shutdown: unknown, options: unknown): ResolvedCacheOptions<V> {
  requireShutdown(WHERE, shutdown, 'createWriteBehind(shutdown, { sink, ... })')
  if (options === undefined) throw new InvalidOptionError(`options of ${WHERE}`, 'expected { sink, … }; got undefined')
  checkOptions(WHERE, options, OPTION_NAMES)
  const o = options as WriteBehindOptions<V>
  const d = CACHE_DEFAULTS
  const sink = requireClient<Sink>(
    `sink of ${WHERE}`,
    o.sink,
    'a Sink (an object with a write(batch, signal) method)',
    ['write'],
  )
  const retryDelayMs = duration(`retryDelayMs of ${WHERE}`, o.retryDelayMs, d.retryDelayMs)
  const maxRetryDelayMs = duration(
    `maxRetryDelayMs of ${WHERE}`,
    o.maxRetryDelayMs,
    Math.max(d.maxRetryDelayMs, retryDelayMs),
  )
  if (maxRetryDelayMs < retryDelayMs)
    throw new InvalidOptionError(
      `maxRetryDelayMs of ${WHERE}`,
      `must be at least retryDelayMs (${retryDelayMs}); got ${maxRetryDelayMs}`,
    )
  // Counts of writers and batch sizes are finite; limits may be lifted: Infinity means no limit.
  const finite = { min: 1 }
  const limit = { min: 1, infinite: true }
  return {
    sink,
    task: taskOptions(WHERE, o, d.writeBehind),
    flushIntervalMs: duration(`flushIntervalMs of ${WHERE}`, o.flushIntervalMs, d.flushIntervalMs),
    maxBatch: count(`maxBatch of ${WHERE}`, o.maxBatch, d.maxBatch, finite),
    concurrency: count(`concurrency of ${WHERE}`, o.concurrency, d.concurrency, finite),
    retryDelayMs,
    maxRetryDelayMs,
    maxEntries: count(`maxEntries of ${WHERE}`, o.maxEntries, d.maxEntries, limit),
    maxBytes: count(`maxBytes of ${WHERE}`, o.maxBytes, d.maxBytes, limit),
    retainClean: boolean(`retainClean of ${WHERE}`, orDefault(o.retainClean, d.retainClean)),
    encode: optionalFunction(`encode of ${WHERE}`, o.encode),
    onUnflushed: optionalFunction(`onUnflushed of ${WHERE}`, o.onUnflushed),
  }
}
