import { ConfigurationError, DuplicateTaskError, LameduckError } from '@lameduck/core'

/** `/shutdown` would be reachable by anyone who can reach the pod: no token and no `insecure: true`. */
export class ShutdownTokenRequiredError extends ConfigurationError {
  constructor() {
    super(
      'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED',
      'the /shutdown endpoint needs a token on the application port: pass { token } or set ' +
        'LAMEDUCK_SHUTDOWN_TOKEN, and send it from the preStop hook as "Authorization: Bearer <token>" ' +
        '(see docs/security.md). To expose it without one, pass { insecure: true }.',
    )
  }
}

/**
 * `drainHttpServer` was called a second time for a server that already has a drain. Two drains would track
 * the same connections twice and close them twice; the second call's options would silently compete with
 * the first's. Code `LAMEDUCK_ERR_DUPLICATE_TASK`, as for any task registered twice.
 */
export class DuplicateDrainError extends DuplicateTaskError {
  constructor(
    /** The drain task already registered for the server. */
    readonly existing: string,
    /** The name the second call would have used. */
    readonly requested: string,
  ) {
    super(existing)
    this.message =
      `drainHttpServer: this server already has a drain (task "${existing}"); one drain per server — a second ` +
      `("${requested}") would track and close the same connections twice. Keep the first handle, or call its ` +
      'remove() before draining the server again.'
  }
}

/** The drain had to force-close connections at its deadline: requests or streams were cut. */
export class DrainForcedError extends LameduckError {
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
  durationMs: number
}
