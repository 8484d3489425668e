/**
 * Every default of `@lameduck/fastify`, in one place: the README's option table is checked against it by a
 * test. The probes' and the drain's defaults are `@lameduck/http`'s (`HTTP_DEFAULTS.probes`, `.drain`).
 */
export const FASTIFY_DEFAULTS = {
  /** The task that runs `app.close()` (the application's `onClose` hooks) after the drain. */
  close: { name: 'fastify-close', phase: 'close', timeoutMs: 5_000, critical: true },
} as const
