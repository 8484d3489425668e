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
  /** Name of the push task. */
  pushTaskName: 'prometheus-push',
  /** A failed push is reported but does not make the exit code non-zero: the pod's work is done either way. */
  pushCritical: false,
} as const
