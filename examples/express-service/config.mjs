// The service's shutdown numbers, in one place: server.mjs runs with them, and a test checks that
// k8s/deployment.yaml agrees (grace period ≥ drain delay + budgets + margin, probe paths and ports).
const env = process.env

export const config = {
  port: Number(env.PORT ?? 3000),
  adminPort: Number(env.ADMIN_PORT ?? 9090),
  /** Longer than the cluster needs to take a terminating pod out of every endpoint list. */
  drainDelayMs: Number(env.DRAIN_DELAY_MS ?? 5000),
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

/**
 * What the grace period must at least be: the sum the coordinator reserves, plus its margin, plus the
 * up to 100 ms it keeps for the exit itself (see `shutdown.plan()`).
 */
export function requiredGraceMs(c = config) {
  return c.drainDelayMs + Object.values(c.budgets).reduce((a, b) => a + b, 0) + c.safetyMarginMs + 100
}
