export { CACHE_DEFAULTS } from './defaults.js'
export { CacheClosedError, CacheFlushIncompleteError, InvalidCacheValueError } from './errors.js'
export { flushTask } from './flush-task.js'
export type { Sink, SinkEntry } from './sink.js'
export {
  createWriteBehind,
  type FlushResult,
  type WriteBehindCache,
  type WriteBehindOptions,
  type WriteBehindStats,
} from './write-behind.js'
