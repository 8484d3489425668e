export { type LameduckMiddlewareOptions, lameduck } from './middleware.js'
