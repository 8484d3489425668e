export {
  CLOSE_OPTIONS,
  type CloseSocketIoOptions,
  closeSocketIo,
  type EngineConnectionLike,
  type EngineServerLike,
  type SocketIoClose,
  type SocketIoServerLike,
} from './close-socket-io.js'
export { SOCKETIO_DEFAULTS } from './defaults.js'
export {
  SOCKETIO_ERROR_CODES,
  SOCKETIO_WARNING_CODES,
  type SocketIoCloseStats,
  type SocketIoErrorCode,
  SocketIoTerminatedError,
  type SocketIoWarningCode,
} from './errors.js'
