import { checkOptions, describeValue, InvalidOptionError, requireDuration, type Shutdown } from '@lameduck/core'
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

export interface WriteBehindOptions<V = unknown> {
  /** Where dirty entries go. */
  sink: Sink
  /** Name in logs and of the shutdown task. Default: `write-behind` (`write-behind-2`, …). */
  name?: string
  /** Background flush interval in ms; 0: no periodic flush (the shutdown, a full cache and `flush()` still write). Default: 1000. */
  flushIntervalMs?: number
  /** Entries per `sink.write`. Default: 1000. */
  maxBatch?: number
  /** Batches written at the same time. Default: 4. */
  concurrency?: number
  /** Budget of the shutdown flush. Default: 5000. */
  timeoutMs?: number
  /** Whether entries left unwritten make the exit code non-zero. Default: `true`. */
  critical?: boolean
  /** First delay before retrying a failed write (the whole sink, or one entry); doubles up to `maxRetryDelayMs`. Default: 50. */
  retryDelayMs?: number
  /** Longest delay between retries. Default: 1000. */
  maxRetryDelayMs?: number
  /** Entries held in memory, written or not (`Infinity`: no limit). Default: 100000. */
  maxEntries?: number
  /** Estimated bytes held in memory (`Infinity`: no limit). Default: 67108864 (64 MiB). */
  maxBytes?: number
  /** Keep written values for `get()`, within the limits; `false`: let each go once written. Default: `true`. */
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
  'flushIntervalMs',
  'maxBatch',
  'concurrency',
  'timeoutMs',
  'critical',
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
  name: string | undefined
  flushIntervalMs: number
  maxBatch: number
  concurrency: number
  timeoutMs: number
  critical: boolean
  retryDelayMs: number
  maxRetryDelayMs: number
  maxEntries: number
  maxBytes: number
  retainClean: boolean
  encode: Encoder<V> | undefined
  onUnflushed: ((entries: UnflushedEntry[]) => void) | undefined
}

/**
 * Validates `createWriteBehind`'s arguments: unknown keys refused (with "did you mean"), `undefined` means
 * the default and anything else of the wrong type — `null` included — is refused.
 */
export function resolveCacheOptions<V>(shutdown: unknown, options: unknown): ResolvedCacheOptions<V> {
  requireCoordinator('createWriteBehind', shutdown)
  if (options === undefined) throw new InvalidOptionError('createWriteBehind options', 'expected { sink, … }')
  checkOptions('createWriteBehind', options, OPTION_NAMES)
  const o = options as WriteBehindOptions<V>
  const sink = o.sink as unknown
  if (sink === null || typeof sink !== 'object' || typeof (sink as Sink).write !== 'function')
    throw new InvalidOptionError(
      'sink',
      `expected an object with a write(batch, signal) method, got ${describeValue(sink)}`,
    )
  const d = CACHE_DEFAULTS
  const retryDelayMs = duration('retryDelayMs', o.retryDelayMs, d.retryDelayMs)
  const maxRetryDelayMs = duration('maxRetryDelayMs', o.maxRetryDelayMs, Math.max(d.maxRetryDelayMs, retryDelayMs))
  if (maxRetryDelayMs < retryDelayMs)
    throw new InvalidOptionError(
      'maxRetryDelayMs',
      `must be at least retryDelayMs (${retryDelayMs}); got ${maxRetryDelayMs}`,
    )
  return {
    sink: sink as Sink,
    name: optionalName(o.name),
    flushIntervalMs: duration('flushIntervalMs', o.flushIntervalMs, d.flushIntervalMs),
    maxBatch: positiveInteger('maxBatch', o.maxBatch, d.maxBatch),
    concurrency: positiveInteger('concurrency', o.concurrency, d.concurrency),
    timeoutMs: duration('timeoutMs', o.timeoutMs, d.timeoutMs),
    critical: boolean('critical', o.critical, d.critical),
    retryDelayMs,
    maxRetryDelayMs,
    maxEntries: limit('maxEntries', o.maxEntries, d.maxEntries, true),
    maxBytes: limit('maxBytes', o.maxBytes, d.maxBytes, false),
    retainClean: boolean('retainClean', o.retainClean, d.retainClean),
    encode: optionalFunction('encode', o.encode),
    onUnflushed: optionalFunction('onUnflushed', o.onUnflushed),
  }
}

export function resolveFlushTaskOptions(options: unknown): { timeoutMs: number; critical: boolean } {
  checkOptions('flushTask', options, ['timeoutMs', 'critical'])
  const o = (options ?? {}) as { timeoutMs?: number; critical?: boolean }
  return {
    timeoutMs: duration('timeoutMs', o.timeoutMs, CACHE_DEFAULTS.timeoutMs),
    critical: boolean('critical', o.critical, CACHE_DEFAULTS.critical),
  }
}

export function requireCoordinator(where: string, shutdown: unknown): asserts shutdown is Shutdown {
  const s = shutdown as Partial<Shutdown> | null
  if (s === null || typeof s !== 'object' || typeof s.addTask !== 'function' || typeof s.on !== 'function')
    throw new InvalidOptionError(
      `${where}(shutdown, …)`,
      `expected the coordinator returned by createShutdown(), got ${describeValue(shutdown)}`,
    )
}

function duration(option: string, value: unknown, fallback: number): number {
  return requireDuration(option, value === undefined ? fallback : value)
}

function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new InvalidOptionError(option, `expected a positive integer, got ${describeValue(value)}`)
  return value
}

/** A positive number (an integer for counts) or `Infinity` for no limit. */
function limit(option: string, value: unknown, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback
  if (value === Number.POSITIVE_INFINITY) return value
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || (integer && !Number.isInteger(value)))
    throw new InvalidOptionError(
      option,
      `expected a positive ${integer ? 'integer' : 'number'} (or Infinity for no limit), got ${describeValue(value)}`,
    )
  return value
}

function boolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean')
    throw new InvalidOptionError(option, `expected a boolean, got ${describeValue(value)}`)
  return value
}

function optionalName(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '')
    throw new InvalidOptionError('name', `expected a non-empty string, got ${describeValue(value)}`)
  return value
}

function optionalFunction<F>(option: string, value: unknown): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function')
    throw new InvalidOptionError(option, `expected a function, got ${describeValue(value)}`)
  return value as F
}
