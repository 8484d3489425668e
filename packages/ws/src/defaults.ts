/**
 * Every default of `@lameduck/ws`, in one place: the README's option table is checked against it by a test,
 * and the TSDoc of each option refers to it instead of repeating the number.
 */
export const WS_DEFAULTS = {
  /** The first task of a coordinator; further WebSocket servers get `ws-close-2`, `ws-close-3`, … */
  name: 'ws-close',
  /** With the HTTP drain of the server the WebSockets came through: new work stops there. */
  phase: 'drain',
  /** The spread window, the close handshakes and a margin: what is still open at its end is terminated. */
  timeoutMs: 10_000,
  /** Connections terminated at the deadline (WebSocket 1006 on the client) make the exit code non-zero. */
  critical: true,
  /**
   * 1012, Service Restart: "the service is restarting; reconnect" (RFC 6455's registry), which is what a
   * rolling update is — the service stays, the replica goes. 1001 (Going Away) is the older choice.
   */
  code: 1012,
  /** Sent with the code (at most 123 bytes of UTF-8): for people reading a client's log. */
  reason: 'service restart: reconnect',
  /**
   * The closes are spread evenly over this window (shortened to fit the task's budget): 10,000 clients then
   * reconnect at 2 per ms, not all in the same millisecond.
   */
  spreadMs: 5_000,
  /** Kept at the end of the budget for the last close handshakes: the window ends this long before the deadline. */
  handshakeMs: 1_000,
  /**
   * What becomes of a client's message that arrives after its connection's close frame was sent: `'deliver'`
   * — to the application, as ws does (it cannot be answered any more); `'drop'` — not given to it, so that
   * a message the client saw no answer to was not processed. See the README's guarantee.
   */
  lateMessages: 'deliver',
} as const
