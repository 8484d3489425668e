/**
 * Every default of `@lameduck/notify`, in one place: the README's option table is checked against it by a
 * test.
 */
export const NOTIFY_DEFAULTS = {
  /**
   * The task. `release`: after the drain (the endpoints no longer send here, in-flight work is done), beside
   * the locks and leases. Not critical: the pod goes anyway, and the endpoint's own health checking removes
   * it in the end; the report says that the call failed, and why.
   */
  task: { name: 'notify', phase: 'release', timeoutMs: 5_000, critical: false },
  method: 'POST',
  /** Attempts in all, the first included. */
  attempts: 4,
  /** The wait before the first retry; each later one doubles it, with full jitter (a random wait up to it). */
  retryDelayMs: 200,
  /** One attempt's budget, cut to what is left of the task's. */
  attemptTimeoutMs: 2_000,
  idempotencyHeader: 'Idempotency-Key',
  /** How much of the endpoint's response body the report keeps. */
  responseBytes: 1_024,
} as const
