export { PROMETHEUS_DEFAULTS } from './defaults.js'
export {
  PROMETHEUS_ERROR_CODES,
  PROMETHEUS_WARNING_CODES,
  type PrometheusErrorCode,
  type PrometheusWarningCode,
  PushFailedError,
} from './errors.js'
export { type Instrumentation, type InstrumentOptions, instrument } from './instrument.js'
export {
  type MetricsHandlerOptions,
  metricsHandler,
  metricsMiddleware,
  type Req,
  type Res,
} from './metrics-handler.js'
export { type PushOptions, pushOnShutdown } from './push.js'
export type { CacheSource, HttpSource, LockSource, Sources } from './sources.js'
