import { ConfigurationError, LameduckError } from '@lameduck/core'
import { HTTP_DEFAULTS } from './defaults.js'

/** The closed catalogue of the error codes `@lameduck/http` throws or records, each with its class. */
export const HTTP_ERROR_CODES = [
  /** {@link DrainForcedError} */
  'LAMEDUCK_ERR_DRAIN_FORCED',
  /** {@link ShutdownTokenRequiredError} */
  'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED',
] as const

/** A code of {@link HTTP_ERROR_CODES}. */
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number]

/** The warning codes `@lameduck/http` emits through the coordinator (`shutdown.on('warning')` and the log). */
export const HTTP_WARNING_CODES = [
  /** `listenAdmin` serves `/shutdown` without a token. */
  'LAMEDUCK_WARN_ADMIN_NO_TOKEN',
  /** `drainHttpServer` after the server accepted connections. */
  'LAMEDUCK_WARN_DRAIN_ATTACHED_LATE',
  /** `headersTimeout` not above `keepAliveTimeout`. */
  'LAMEDUCK_WARN_HEADERS_TIMEOUT',
  /** `keepAliveTimeout` below the common load-balancer idle timeout. */
  'LAMEDUCK_WARN_KEEPALIVE_TIMEOUT',
  /** `server.listen()` after the server's drain began: closed at once. */
  'LAMEDUCK_WARN_LISTEN_AFTER_DRAIN',
  /** A `/shutdown` token shorter than {@link HTTP_DEFAULTS}`.probes.minTokenLength`. */
  'LAMEDUCK_WARN_SHORT_TOKEN',
] as const

/** A code of {@link HTTP_WARNING_CODES}. */
export type HttpWarningCode = (typeof HTTP_WARNING_CODES)[number]

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
  /** How long the drain took, by the coordinator's clock. */
  durationMs: number
}
