export { CACHE_DEFAULTS, ENTRY_OVERHEAD_BYTES } from './defaults.js'
export type { Encoder } from './encode.js'
export {
  CACHE_ERROR_CODES,
  CACHE_WARNING_CODES,
  CacheClosedError,
  type CacheErrorCode,
  CacheFlushIncompleteError,
  CacheFullError,
  type CacheWarningCode,
  InvalidCacheValueError,
} from './errors.js'
export { type FlushTaskOptions, flushTask } from './flush-task.js'
export type { Sink, SinkEntry } from './sink.js'
export {
  createWriteBehind,
  type FlushResult,
  type UnflushedEntry,
  type WriteBehindCache,
  type WriteBehindOptions,
  type WriteBehindStats,
} from './write-behind.js'
