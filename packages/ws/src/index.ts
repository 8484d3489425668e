export {
  CLOSE_OPTIONS,
  type CloseWebSocketsOptions,
  closeWebSockets,
  type WebSocketLike,
  type WebSocketServerLike,
  type WebSocketsClose,
} from './close-websockets.js'
export { WS_DEFAULTS } from './defaults.js'
export {
  WS_ERROR_CODES,
  WS_WARNING_CODES,
  type WsCloseStats,
  type WsErrorCode,
  WsTerminatedError,
  type WsWarningCode,
} from './errors.js'
