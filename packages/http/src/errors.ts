import { ConfigurationError, LameduckError } from '@lameduck/core'
import { HTTP_DEFAULTS } from './defaults.js'

/**
 * The closed catalogue of the error codes `@lameduck/http` throws or records: `LAMEDUCK_ERR_DRAIN_FORCED`
 * ({@link DrainForcedError}), `LAMEDUCK_ERR_NOT_A_SOCKET` ({@link NotASocketError}),
 * `LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED` ({@link ShutdownTokenRequiredError}) and `LAMEDUCK_ERR_SSE_TERMINATED`
 * ({@link EventStreamsTerminatedError}).
 */
export const HTTP_ERROR_CODES = [
  'LAMEDUCK_ERR_DRAIN_FORCED',
  'LAMEDUCK_ERR_NOT_A_SOCKET',
  'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED',
  'LAMEDUCK_ERR_SSE_TERMINATED',
] as const

/**
 * The warning codes `@lameduck/http` emits through the coordinator (`shutdown.on('warning')` and the log),
 * by suffix of `LAMEDUCK_WARN_`: `ADMIN_NO_TOKEN` — `listenAdmin` serves `/shutdown` without a token; `DRAIN_ATTACHED_LATE` —
 * `drainHttpServer` after the server accepted connections; `HEADERS_TIMEOUT` — `headersTimeout` not above
 * `keepAliveTimeout`; `KEEPALIVE_TIMEOUT` — `keepAliveTimeout` below the common load-balancer idle
 * timeout; `LISTEN_AFTER_DRAIN` — `server.listen()` after the server's drain began (closed at once);
 * `PRESTOP_UNAUTHORIZED` — the kubelet's preStop `httpGet` (`User-Agent: kube-lifecycle/…`) got 401 from
 * `/shutdown`; `SHORT_TOKEN` — a `/shutdown` token shorter than {@link HTTP_DEFAULTS}`.probes.minTokenLength`.
 */
export const HTTP_WARNING_CODES = [
  'LAMEDUCK_WARN_ADMIN_NO_TOKEN',
  'LAMEDUCK_WARN_DRAIN_ATTACHED_LATE',
  'LAMEDUCK_WARN_HEADERS_TIMEOUT',
  'LAMEDUCK_WARN_KEEPALIVE_TIMEOUT',
  'LAMEDUCK_WARN_LISTEN_AFTER_DRAIN',
  'LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED',
  'LAMEDUCK_WARN_SHORT_TOKEN',
] as const

/** `/shutdown` would be reachable by anyone who can reach the pod: no token and no `insecure: true`. */
export class ShutdownTokenRequiredError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED'

  constructor() {
    super(
      'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED',
      'the /shutdown endpoint needs a token on the application port: pass { token } or set ' +
        `${HTTP_DEFAULTS.probes.tokenEnv}, and send it from the preStop hook as "Authorization: Bearer <token>" ` +
        '(see docs/security.md). To expose it without one, pass { insecure: true }.',
    )
  }
}

/**
 * `socketPath` of `listenAdmin` names something that is not a Unix socket — a file, a directory, a symbolic
 * link: it is left alone (only a socket nobody listens on any more is removed, as stale).
 */
export class NotASocketError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_NOT_A_SOCKET'

  constructor(
    readonly path: string,
    /** What is there instead: `'file'`, `'directory'`, `'symbolic link'`, … */
    readonly found: string,
  ) {
    super(
      'LAMEDUCK_ERR_NOT_A_SOCKET',
      `socketPath of listenAdmin: ${JSON.stringify(path)} is a ${found}, not a Unix socket; refusing to ` +
        'replace it. Choose a path of its own (e.g. in an emptyDir volume: /run/lameduck/admin.sock).',
    )
  }
}

/** The drain had to force-close connections at its deadline: requests or streams were cut. */
export class DrainForcedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_DRAIN_FORCED'

  constructor(readonly stats: DrainStats) {
    super(
      'LAMEDUCK_ERR_DRAIN_FORCED',
      `force-closed ${stats.forced} connection(s) at the drain deadline ` +
        `(${stats.requestsCut} request(s) in flight, ${stats.upgradedForced} upgraded, ${stats.sessionsForced} HTTP/2 session(s))`,
    )
  }
}

export interface DrainStats {
  /** Connections open when the drain started (HTTP/1 sockets and HTTP/2 sessions). */
  connectionsAtStart: number
  /** Requests in flight when the drain started. */
  requestsAtStart: number
  /** Sockets that closed after a response with `Connection: close`, or by the client. */
  closedAfterResponse: number
  /** Idle keep-alive sockets ended by the drain. */
  idleEnded: number
  /** Connections destroyed at the deadline. */
  forced: number
  requestsCut: number
  upgradedForced: number
  sessionsForced: number
  /**
   * Upgraded sockets open at the start that were handed over to another adapter (the kit's
   * `handOverSocket`, e.g. by `closeWebSockets` of `@lameduck/ws`): that adapter closes them, the drain
   * neither waits for them nor destroys them (they are not in `connectionsAtStart`).
   */
  handedOver: number
  /** How long the drain took, by the coordinator's clock. */
  durationMs: number
}

/** What `closeEventStreams` did, once its task has run. */
export interface EventStreamStats {
  /** Event streams in flight when the task started (found on the server, or added). */
  streamsAtStart: number
  /** Streams that started while the task ran (a request on a kept-alive connection): ended at once. */
  acceptedDuringDrain: number
  /** Streams ended by the task: `retry:` written, the response ended, its connection closed after it. */
  ended: number
  /** Streams whose connection had closed by the deadline: every event written on them flushed. */
  closed: number
  /** Streams still open at the deadline, destroyed: the client saw the stream cut. */
  terminated: number
  /** Bytes still queued on the destroyed streams: events written, never delivered. */
  unsentBytes: number
  /** Writes of the application on a stream after its end: not sent (the write's callback got the error). */
  lateWrites: number
  /** The window the ends were spread over: `spreadMs`, shortened to fit the budget. */
  windowMs: number
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
}

/**
 * Event streams whose connection had not closed by the task's deadline were destroyed: their clients saw the
 * stream cut (an EventSource reconnects then too, after its own delay), and what was still queued on them is
 * lost. Code `LAMEDUCK_ERR_SSE_TERMINATED`.
 */
export class EventStreamsTerminatedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_SSE_TERMINATED'

  constructor(readonly stats: EventStreamStats) {
    super(
      'LAMEDUCK_ERR_SSE_TERMINATED',
      `destroyed ${stats.terminated} event stream(s) still open at the deadline (${stats.unsentBytes} byte(s) ` +
        `queued on them were not delivered); ${stats.closed} ended cleanly`,
    )
  }
}

/** A code of {@link HTTP_ERROR_CODES}. */
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number]
/** A code of {@link HTTP_WARNING_CODES}. */
export type HttpWarningCode = (typeof HTTP_WARNING_CODES)[number]
