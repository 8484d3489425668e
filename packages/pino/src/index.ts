export { PINO_DEFAULTS } from './defaults.js'
export {
  PINO_ERROR_CODES,
  PINO_WARNING_CODES,
  PinoDestinationError,
  type PinoErrorCode,
  type PinoFlushResult,
  PinoFlushTimeoutError,
  type PinoWarningCode,
} from './errors.js'
export {
  FLUSH_PINO_OPTIONS,
  type FlushPinoOptions,
  flushPino,
  type PinoFlush,
  type PinoLoggerLike,
} from './flush-pino.js'
