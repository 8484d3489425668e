/**
 * Every default of `@lameduck/nestjs`, in one place: the README's option table is checked against it by a
 * test. The probes' and the drain's defaults are `@lameduck/http`'s (`HTTP_DEFAULTS.probes`, `.drain`).
 */
export const NESTJS_DEFAULTS = {
  /**
   * The task that calls the providers' `beforeApplicationShutdown` hooks: in the drain phase, beside the
   * server's drain — Nest's contract for the hook is "the application still serves", and every dependency of
   * every provider is still there (Nest itself calls it after `onModuleDestroy`).
   */
  beforeShutdown: { name: 'nest-before-shutdown', phase: 'drain', timeoutMs: 5_000, critical: true },
  /**
   * The task that runs `app.close()` once the server is drained: `onModuleDestroy`, then
   * `onApplicationShutdown`, in module-dependency order, with Nest's own closing of the server left out.
   */
  close: { name: 'nest-close', phase: 'close', timeoutMs: 5_000, critical: true },
} as const
