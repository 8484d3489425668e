export { CACHE_DEFAULTS, ENTRY_OVERHEAD_BYTES } from './defaults.js'
export type { Encoder } from './encode.js'
export { CacheClosedError, CacheFlushIncompleteError, CacheFullError, InvalidCacheValueError } from './errors.js'
export { flushTask } from './flush-task.js'
export type { Sink, SinkEntry } from './sink.js'
export {
  createWriteBehind,
  type FlushResult,
  type UnflushedEntry,
  type WriteBehindCache,
  type WriteBehindOptions,
  type WriteBehindStats,
} from './write-behind.js'
