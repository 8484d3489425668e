export {
  type AdminOptions,
  type AdminPortOptions,
  type AdminServer,
  type AdminSocketOptions,
  type AdminSocketServer,
  listenAdmin,
} from './admin.js'
export { closedByDrain } from './closed-by-drain.js'
export { HTTP_DEFAULTS } from './defaults.js'
export { type DrainContext, type DrainOptions, drainHttpServer, drainHttpServerFor, type HttpDrain } from './drain.js'
export {
  DrainForcedError,
  type DrainStats,
  type EventStreamStats,
  EventStreamsTerminatedError,
  HTTP_ERROR_CODES,
  HTTP_WARNING_CODES,
  type HttpErrorCode,
  type HttpWarningCode,
  NotASocketError,
  ShutdownTokenRequiredError,
} from './errors.js'
export {
  type CloseEventStreamsOptions,
  closeEventStreams,
  EVENT_STREAMS_OPTIONS,
  type EventStream,
  type EventStreamResponse,
  type EventStreamsClose,
} from './event-streams.js'
export {
  createProbes,
  createProbesFor,
  PROBE_OPTIONS,
  type ProbeHandler,
  type ProbeOptions,
  type Request,
  type Response,
} from './probes.js'
export { protectConnection } from './protect.js'
export type { AnyServer } from './tracker.js'
