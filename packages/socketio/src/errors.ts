import { LameduckError } from '@lameduck/core'
import type { ConnectionCloseStats } from '@lameduck/core/adapter'

/** The closed catalogue of the error codes `@lameduck/socket.io` throws or records: {@link SocketIoTerminatedError}. */
export const SOCKETIO_ERROR_CODES = ['LAMEDUCK_ERR_SOCKETIO_TERMINATED'] as const

/** The warning codes `@lameduck/socket.io` emits of its own: none. */
export const SOCKETIO_WARNING_CODES = [] as const

/**
 * What `closeSocketIo` did, once its task has run. `connectionsAtStart` counts engine.io connections (one per
 * client, whatever its namespaces); `closeSent`, those whose transport was closed (the client sees "transport
 * close" and reconnects); those `terminated` were cut (their clients see "transport error", and reconnect too).
 */
export interface SocketIoCloseStats extends ConnectionCloseStats {
  /** Of `connectionsAtStart`, how many were on HTTP long-polling (the others on WebSocket). */
  pollingAtStart: number
  /** Packets the server had queued on the cut connections: emitted by the application, never delivered. */
  unsentPackets: number
  /**
   * Server emits with an acknowledgement still awaited when their connection was closed: their callbacks get
   * "operation has timed out" when emitted with `socket.timeout(ms)` (never called without it).
   */
  acksPending: number
}

/**
 * Connections still open at the task's deadline were cut: their clients see "transport error" (and still
 * reconnect), and what the server had queued on them is lost. Code `LAMEDUCK_ERR_SOCKETIO_TERMINATED`.
 */
export class SocketIoTerminatedError extends LameduckError {
  declare readonly code: SocketIoErrorCode

  constructor(readonly stats: SocketIoCloseStats) {
    super(
      'LAMEDUCK_ERR_SOCKETIO_TERMINATED',
      `cut ${stats.terminated} socket.io connection(s) still open at the deadline (${stats.unsentPackets} ` +
        `packet(s) queued on them were not delivered); ${stats.closed} closed in order`,
    )
  }
}

/** A code of {@link SOCKETIO_ERROR_CODES}. */
export type SocketIoErrorCode = (typeof SOCKETIO_ERROR_CODES)[number]
/** A code of {@link SOCKETIO_WARNING_CODES} (none: `never`). */
export type SocketIoWarningCode = (typeof SOCKETIO_WARNING_CODES)[number]
