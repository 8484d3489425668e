/** Every default of `@lameduck/http`, in one place. */
export const HTTP_DEFAULTS = {
  /** Name of the first drain task of a coordinator; further ones are `http-drain-2`, `http-drain-3`, … */
  drainTaskName: 'http-drain',
  /** Budget of the drain task: in-flight requests get this long after the drain starts. */
  drainTimeoutMs: 10_000,
  /** Connections force-closed at the drain deadline cut requests: the exit code says so. */
  critical: true,
  /** How often the drain looks for idle sockets. */
  sweepMs: 25,
  /** Load balancers commonly drop idle connections after 60 s; the server must keep them longer. */
  minKeepAliveTimeoutMs: 60_000,
  paths: { liveness: '/healthz', readiness: '/readyz', shutdown: '/shutdown' },
  tokenEnv: 'LAMEDUCK_SHUTDOWN_TOKEN',
  /** Admin server: closed last, in the `report` phase. */
  adminCloseTimeoutMs: 1_000,
} as const
