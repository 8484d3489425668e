export {
  EXPRESS_ERROR_CODES,
  EXPRESS_WARNING_CODES,
  type ExpressErrorCode,
  type ExpressWarningCode,
} from './errors.js'
export { type LameduckMiddlewareOptions, lameduck, type RequestListener, withLameduck } from './middleware.js'
