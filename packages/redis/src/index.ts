export { type CloseRedisOptions, closeRedis } from './close.js'
export { REDIS_DEFAULTS } from './defaults.js'
export {
  LockFenceError,
  LockLostError,
  type LockLostReason,
  LockReleaseIncompleteError,
  LockTimeoutError,
  REDIS_ERROR_CODES,
  REDIS_WARNING_CODES,
  type RedisErrorCode,
  RedisQuitError,
  RedisQuitTimeoutError,
  RedisUnavailableError,
  type RedisWarningCode,
  type ReleaseSummary,
  ShuttingDownError,
  SinkWriteError,
} from './errors.js'
export {
  createLocks,
  type RedisAcquireOptions,
  type RedisLock,
  type RedisLocks,
  type RedisLocksOptions,
  type ReleaseOutcome,
} from './locks.js'
export type { RedisClient } from './scripts.js'
export { type RedisSinkOptions, redisSink } from './sink.js'
