import { LameduckError } from '@lameduck/core'
import type { ConnectionCloseStats } from '@lameduck/core/adapter'

/** The closed catalogue of the error codes `@lameduck/ws` throws or records: {@link WsTerminatedError}. */
export const WS_ERROR_CODES = ['LAMEDUCK_ERR_WS_TERMINATED'] as const

/** The warning codes `@lameduck/ws` emits of its own: none. */
export const WS_WARNING_CODES = [] as const

/**
 * What `closeWebSockets` did, once its task has run. `connectionsAtStart` counts those closing already too;
 * `closeSent`, those sent the close code; those `terminated` were cut with `terminate()` (their clients see 1006).
 */
export interface WsCloseStats extends ConnectionCloseStats {
  /** Bytes the server had queued on the terminated connections: sent by the application, never delivered. */
  unsentBytes: number
  /** Client messages that arrived after their connection's close frame was sent (see `lateMessages`). */
  lateMessages: number
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

/** A code of {@link WS_ERROR_CODES}. */
export type WsErrorCode = (typeof WS_ERROR_CODES)[number]
/** A code of {@link WS_WARNING_CODES} (none: `never`). */
export type WsWarningCode = (typeof WS_WARNING_CODES)[number]
