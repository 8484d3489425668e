export { OTEL_CONVENTIONS } from './conventions.js'
export { OTEL_DEFAULTS } from './defaults.js'
export {
  OTEL_ERROR_CODES,
  OTEL_WARNING_CODES,
  type OtelErrorCode,
  OtelFlushFailedError,
  OtelNothingToFlushError,
  type OtelWarningCode,
} from './errors.js'
export {
  INSTRUMENT_SHUTDOWN_OPTIONS,
  type InstrumentShutdownOptions,
  instrumentShutdown,
  type OtelSdk,
} from './instrument-shutdown.js'
