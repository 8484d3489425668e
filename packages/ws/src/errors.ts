import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/ws` throws or records: {@link WsTerminatedError}. */
export const WS_ERROR_CODES = ['LAMEDUCK_ERR_WS_TERMINATED'] as const

/** A code of {@link WS_ERROR_CODES}. */
export type WsErrorCode = (typeof WS_ERROR_CODES)[number]

/** The warning codes `@lameduck/ws` emits of its own: none. */
export const WS_WARNING_CODES = [] as const

/** A code of {@link WS_WARNING_CODES} (none: `never`). */
export type WsWarningCode = (typeof WS_WARNING_CODES)[number]

/** What `closeWebSockets` did, once its task has run. */
export interface WsCloseStats {
  /** Connections open (or closing) when the task started. */
  connectionsAtStart: number
  /** Connections accepted while the task ran (an upgrade on a kept-alive HTTP connection): told to go at once. */
  acceptedDuringDrain: number
  /** Connections sent the close code. */
  closeSent: number
  /** Connections that closed by the deadline: close handshake completed, or the client went first. */
  closed: number
  /** Connections still open at the deadline, terminated (the client sees 1006). */
  terminated: number
  /** Bytes the server had queued on the terminated connections: sent by the application, never delivered. */
  unsentBytes: number
  /** Client messages that arrived after their connection's close frame was sent (see `lateMessages`). */
  lateMessages: number
  /** The window the closes were spread over: `spreadMs`, shortened to fit the budget. */
  windowMs: number
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
}

/**
 * Connections whose close handshake had not completed by the task's deadline were terminated: their clients
 * see an abnormal closure (1006), and what the server had queued on them is lost. Code
 * `LAMEDUCK_ERR_WS_TERMINATED`.
 */
export class WsTerminatedError extends LameduckError {
  declare readonly code: WsErrorCode

  constructor(readonly stats: WsCloseStats) {
    super(
      'LAMEDUCK_ERR_WS_TERMINATED',
      `terminated ${stats.terminated} WebSocket connection(s) whose close handshake had not completed by the ` +
        `deadline (${stats.unsentBytes} byte(s) queued on them were not delivered); ${stats.closed} closed cleanly`,
    )
  }
}
