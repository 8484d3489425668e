export { NESTJS_DEFAULTS } from './defaults.js'
export {
  NESTJS_ERROR_CODES,
  NESTJS_WARNING_CODES,
  type NestjsErrorCode,
  type NestjsWarningCode,
  NestModuleImportedTwiceError,
  NestModuleMissingError,
  NestNotAttachedError,
  NestShutdownHooksError,
} from './errors.js'
export {
  InjectShutdown,
  type LameduckAttachment,
  LameduckModule,
  type LameduckModuleAsyncOptions,
  SHUTDOWN,
} from './module.js'
export { type LameduckModuleOptions, MODULE_OPTIONS } from './options.js'
