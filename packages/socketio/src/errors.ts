import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/socket.io` throws or records: {@link SocketIoTerminatedError}. */
export const SOCKETIO_ERROR_CODES = ['LAMEDUCK_ERR_SOCKETIO_TERMINATED'] as const

/** A code of {@link SOCKETIO_ERROR_CODES}. */
export type SocketIoErrorCode = (typeof SOCKETIO_ERROR_CODES)[number]

/** The warning codes `@lameduck/socket.io` emits of its own: none. */
export const SOCKETIO_WARNING_CODES = [] as const

/** A code of {@link SOCKETIO_WARNING_CODES} (none: `never`). */
export type SocketIoWarningCode = (typeof SOCKETIO_WARNING_CODES)[number]

/** What `closeSocketIo` did, once its task has run. */
export interface SocketIoCloseStats {
  /** engine.io connections open when the task started (one per client, whatever its namespaces). */
  connectionsAtStart: number
  /** Of those, how many were on HTTP long-polling (the others on WebSocket) when the task started. */
  pollingAtStart: number
  /** Connections made while the task ran (a reconnect on a kept-alive socket): told to go at once. */
  acceptedDuringDrain: number
  /** Connections told to go: their engine.io transport closed (the client sees "transport close" and reconnects). */
  closeSent: number
  /** Connections that were gone by the deadline: closed in order, or the client went first. */
  closed: number
  /** Connections still open at the deadline, cut (their client sees "transport error"). */
  terminated: number
  /** Packets the server had queued on the cut connections: emitted by the application, never delivered. */
  unsentPackets: number
  /**
   * Server emits with an acknowledgement still awaited when their connection was closed: their callbacks get
   * "operation has timed out" when emitted with `socket.timeout(ms)` (never called without it).
   */
  acksPending: number
  /** The window the closes were spread over: `spreadMs`, shortened to fit the budget. */
  windowMs: number
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
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
