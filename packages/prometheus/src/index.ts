export { PROMETHEUS_DEFAULTS } from './defaults.js'
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
