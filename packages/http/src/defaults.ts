/**
 * Every default of `@lameduck/http`, in one place: the README's option tables are checked against it by a
 * test, and the TSDoc of each option refers to it instead of repeating the number.
 */
export const HTTP_DEFAULTS = {
  /** `drainHttpServer`'s task. */
  drain: {
    /** The first drain task of a coordinator; further ones are numbered: `http-drain-2`, `http-drain-3`, … */
    name: 'http-drain',
    phase: 'drain',
    /** In-flight requests get this long after the drain starts. */
    timeoutMs: 10_000,
    /** Connections force-closed at the drain deadline cut requests: the exit code says so. */
    critical: true,
    /** Warn at start-up about `keepAliveTimeout` / `headersTimeout`. */
    checkTimeouts: true,
    // idleMs: the coordinator's `drainDelayMs` (a setting of the coordinator, not a number of this package).
  },
  /** `closeEventStreams`' task: the Server-Sent Events streams of a server, ended with a reconnect hint. */
  eventStreams: {
    /** The first such task of a coordinator; further servers get `sse-close-2`, `sse-close-3`, … */
    name: 'sse-close',
    /** With the HTTP drain of the same server, whose in-flight responses the streams are. */
    phase: 'drain',
    /** The spread window, the last flushes and a margin: what is still open at its end is destroyed. */
    timeoutMs: 10_000,
    /** Streams destroyed at the deadline (their last events maybe lost) make the exit code non-zero. */
    critical: true,
    /** The ends are spread evenly over this window (shortened to fit the budget): the reconnects are too. */
    spreadMs: 5_000,
    /** Kept at the end of the budget for the last streams to be flushed and their connections closed. */
    handshakeMs: 1_000,
    /**
     * The `retry:` each stream is ended with: its EventSource reconnects this long after the end (and keeps
     * it as its reconnection time). Short, since the ends are spread already; the browsers' own is ~3 s.
     */
    retryMs: 1_000,
  },
  /** `listenAdmin`'s task: the admin server answers probes through the whole run and closes last. */
  admin: {
    name: 'admin-server-close',
    phase: 'report',
    timeoutMs: 1_000,
    /** Closing the admin server late changes nothing the application did. */
    critical: false,
  },
  /** The probe routes (`createProbes`, `listenAdmin`, `lameduck()` of `@lameduck/express`). */
  probes: {
    /** `startup` is the startupProbe's: 503 until every `shutdown.startup` task has finished. */
    paths: { liveness: '/healthz', readiness: '/readyz', startup: '/startupz', shutdown: '/shutdown' },
    /** The environment variable the `/shutdown` token is read from when no `token` is given. */
    tokenEnv: 'LAMEDUCK_SHUTDOWN_TOKEN',
    /** `/shutdown` without a token is refused on the application port. */
    insecure: false,
    /** A shorter token is warned about (`LAMEDUCK_WARN_SHORT_TOKEN`). */
    minTokenLength: 16,
    /**
     * After the `/shutdown` response, the exit waits this long at most for its caller to close the
     * connection (an exec hook in the same container must read the report before the container goes).
     */
    shutdownLingerMs: 1_000,
  },
  /**
   * `lameduck-prestop`, the exec preStop hook. Its path and token variable are those of `probes`; it has no
   * timeout of its own: the kubelet stops waiting for a hook at the end of the grace period.
   */
  prestop: {
    /** Loopback: the hook runs inside the container, and the endpoint need not be reachable from the pod IP. */
    host: '127.0.0.1',
    /** Without `--port` (or `--socket`), the port is read from this environment variable. */
    portEnv: 'PORT',
  },
  /** How often the drain looks for idle sockets, and how often activity is sampled from the trigger on. */
  sweepMs: 25,
  /** Load balancers commonly drop idle connections after 60 s; a server must keep them open longer. */
  minKeepAliveTimeoutMs: 60_000,
  /** The `keepAliveTimeout` the start-up warning recommends, and the admin server's. */
  keepAliveTimeoutMs: 65_000,
  /** The `headersTimeout` the start-up warning recommends, and the admin server's. */
  headersTimeoutMs: 66_000,
  /** How far above `keepAliveTimeout` the warning recommends `headersTimeout` to be. */
  headersTimeoutMarginMs: 1_000,
} as const
