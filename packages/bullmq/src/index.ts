export { BULLMQ_DEFAULTS } from './defaults.js'
export {
  BULLMQ_ERROR_CODES,
  BULLMQ_WARNING_CODES,
  BullmqCloseTimeoutError,
  type BullmqErrorCode,
  BullmqJobsReturnedError,
  BullmqRedisUnavailableError,
  type BullmqStopStats,
  type BullmqWarningCode,
  JobCancelledError,
} from './errors.js'
export {
  type BullmqWorkerLike,
  STOP_WORKER_OPTIONS,
  type StopWorkerOptions,
  stopWorker,
  type WorkerStop,
} from './stop-worker.js'
