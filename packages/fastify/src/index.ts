export { FASTIFY_DEFAULTS } from './defaults.js'
export {
  FASTIFY_ERROR_CODES,
  FASTIFY_WARNING_CODES,
  type FastifyErrorCode,
  type FastifyWarningCode,
} from './errors.js'
export { type LameduckFastifyOptions, type LameduckHandles, lameduck, PLUGIN_OPTIONS } from './plugin.js'
