/**
 * Every default of `@lameduck/prometheus`, in one place: the code reads them from here, the README's
 * option tables are checked against it (a test) and the TSDoc refers to it.
 */
export const PROMETHEUS_DEFAULTS = {
  /** Metric name prefix of `instrument`. */
  prefix: 'lameduck_',
  /** The name of what `instrument` returns (it registers metrics and listeners, no task). */
  instrumentName: 'prometheus-metrics',
  /** The path `metricsHandler` and `metricsMiddleware` answer on. */
  metricsPath: '/metrics',
  /**
   * The task `pushOnShutdown` registers, in the `report` phase so that it carries every other phase. Not
   * critical: a failed push is reported, but the pod's work is done either way. The name is numbered when
   * taken (`prometheus-push-2`, …).
   */
  push: {
    name: 'prometheus-push',
    phase: 'report',
    timeoutMs: 2_000,
    critical: false,
    /** `POST` replaces only the metrics pushed (pushAdd); `PUT` the whole group. */
    method: 'POST' as 'POST' | 'PUT',
    /** Attempts after the first one, within the budget. */
    retries: 2,
    /** Delay before the first retry; doubles at each one. */
    retryDelayMs: 100,
    /** Kept back from each attempt and each wait, so that the task can say what happened before its deadline. */
    marginMs: 20,
  },
} as const
