export {
  type AdvisoryAcquireOptions,
  type AdvisoryLock,
  type AdvisoryLocks,
  type AdvisoryLocksOptions,
  createAdvisoryLocks,
  type ReleaseOutcome,
} from './advisory-locks.js'
export { type ClosePoolOptions, closePool, type PoolCloser } from './close-pool.js'
export { PG_DEFAULTS } from './defaults.js'
export {
  AdvisoryLocksClosedError,
  AdvisoryLockTimeoutError,
  AdvisoryUnlockError,
  PG_ERROR_CODES,
  PG_WARNING_CODES,
  type PgErrorCode,
  type PgWarningCode,
  type PoolCloseStats,
  PoolClosingError,
  PoolForcedError,
} from './errors.js'
export { IDENTIFIER } from './identifiers.js'
export { advisoryLockId } from './lock-id.js'
export { type PgSinkOptions, pgSink, type SinkValueType } from './sink.js'
