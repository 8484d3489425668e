/**
 * Every default of `@lameduck/socket.io`, in one place: the README's option table is checked against it by a
 * test, and the TSDoc of each option refers to it instead of repeating the number.
 */
export const SOCKETIO_DEFAULTS = {
  /** The first task of a coordinator; further socket.io servers get `socket.io-close-2`, `socket.io-close-3`, … */
  name: 'socket.io-close',
  /** With the HTTP drain of the server the connections came through: new work stops there. */
  phase: 'drain',
  /** The spread window, the last closes and a margin: what is still open at its end is cut. */
  timeoutMs: 10_000,
  /** Connections cut at the deadline (the client sees "transport error", and loses what was queued) make the exit code non-zero. */
  critical: true,
  /**
   * The closes are spread evenly over this window (shortened to fit the task's budget): 10,000 clients then
   * reconnect at 2 per ms, not all in the same millisecond.
   */
  spreadMs: 5_000,
  /**
   * Kept at the end of the budget for the last closes to complete (a WebSocket's close handshake, the poll
   * that carries a long-polling client's close packet): the window ends this long before the deadline.
   */
  handshakeMs: 1_000,
} as const
