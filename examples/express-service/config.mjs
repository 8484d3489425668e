// The service's shutdown numbers, in one place: server.mjs runs with them, and a test checks that
// k8s/deployment.yaml agrees (grace period ≥ drain delay + budgets + margin, probe paths and ports).
const env = process.env

export const config = {
  port: Number(env.PORT ?? 3000),
  adminPort: Number(env.ADMIN_PORT ?? 9090),
  /**
   * The drain delay, adaptive: at least `minMs`, over once no new connection has arrived for `quietMs`
   * (the load balancers stopped sending), `maxMs` at the latest — longer than the slowest endpoint
   * propagation the cluster can have. `DRAIN_DELAY_MS` (a number) makes it a fixed delay instead.
   */
  drainDelayMs: env.DRAIN_DELAY_MS
    ? Number(env.DRAIN_DELAY_MS)
    : {
        minMs: Number(env.DRAIN_DELAY_MIN_MS ?? 2000),
        maxMs: Number(env.DRAIN_DELAY_MAX_MS ?? 15_000),
        quietMs: Number(env.DRAIN_DELAY_QUIET_MS ?? 1000),
      },
  safetyMarginMs: 1000,
  /** Task budgets, per phase. */
  budgets: { drain: 10_000, flush: 3_000, release: 1_000, close: 2_000, report: 1_000 },
  /** The probe routes and the preStop hook's path (`@lameduck/express`'s `paths`). */
  paths: { liveness: '/healthz', readiness: '/readyz', shutdown: '/shutdown' },
  /** Served on the admin port. */
  metricsPath: '/metrics',
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  /** Prefix of every Redis key the service writes (its locks and their fence counters). */
  keyPrefix: env.KEY_PREFIX ?? 'express-service:',
  /** The table the page-view counter is flushed to (created if missing). */
  table: env.PAGE_VIEWS_TABLE ?? 'express_service_page_views',
  /** `memory` forces the in-process store; `auto` uses Redis and Postgres when they answer. */
  store: env.STORE ?? 'auto',
}

/** The longest the drain delay can last: what the budget counts. */
export function drainDelayMaxMs(c = config) {
  return typeof c.drainDelayMs === 'number' ? c.drainDelayMs : c.drainDelayMs.maxMs
}

/**
 * What the grace period must at least be: the sum the coordinator reserves, plus its margin, plus the
 * up to 100 ms it keeps for the exit itself (see `shutdown.plan()`).
 */
export function requiredGraceMs(c = config) {
  return drainDelayMaxMs(c) + Object.values(c.budgets).reduce((a, b) => a + b, 0) + c.safetyMarginMs + 100
}
