export { OTEL_CONVENTIONS } from './conventions.js'
export { INSTRUMENT_SHUTDOWN_OPTIONS, OTEL_DEFAULTS } from './defaults.js'
export {
  OTEL_ERROR_CODES,
  OTEL_WARNING_CODES,
  type OtelErrorCode,
  OtelFlushFailedError,
  OtelNothingToFlushError,
  type OtelWarningCode,
} from './errors.js'
export {
  type InstrumentShutdownOptions,
  instrumentShutdown,
  type OtelSdk,
} from './instrument-shutdown.js'
