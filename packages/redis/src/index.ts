export { type CloseRedisOptions, closeRedis } from './close.js'
export { REDIS_DEFAULTS } from './defaults.js'
export {
  LockFenceError,
  LockLostError,
  type LockLostReason,
  LockReleaseIncompleteError,
  LockTimeoutError,
  RedisQuitError,
  RedisQuitTimeoutError,
  RedisUnavailableError,
  type ReleaseSummary,
  ShuttingDownError,
  SinkWriteError,
} from './errors.js'
export {
  type AcquireOptions,
  createLocks,
  type Lock,
  type Locks,
  type LocksOptions,
  type ReleaseResult,
} from './locks.js'
export type { RedisClient } from './scripts.js'
export { type RedisSinkOptions, redisSink } from './sink.js'
