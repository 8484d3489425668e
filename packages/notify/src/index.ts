export { NOTIFY_DEFAULTS } from './defaults.js'
export {
  NOTIFY_ERROR_CODES,
  NOTIFY_WARNING_CODES,
  type NotifyAttempt,
  type NotifyErrorCode,
  NotifyFailedError,
  type NotifyResult,
  type NotifyWarningCode,
} from './errors.js'
export {
  NOTIFY_OPTIONS,
  type Notification,
  type NotifyBody,
  type NotifyInfo,
  type NotifyOptions,
  notify,
} from './notify.js'
