/** Every default of `@lameduck/prometheus`, in one place. */
export const PROMETHEUS_DEFAULTS = {
  prefix: 'lameduck_',
  metricsPath: '/metrics',
  /** Budget of the Pushgateway push task, retries included. */
  pushTimeoutMs: 2_000,
  /** Attempts after the first one, within the budget. */
  pushRetries: 2,
  pushRetryDelayMs: 100,
  pushMethod: 'POST' as 'POST' | 'PUT',
} as const
