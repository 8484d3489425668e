import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'

/**
 * Every default of `@lameduck/otel`, in one place: the code reads them from here, the README's option table
 * is checked against it (a test) and the TSDoc refers to it.
 */
export const OTEL_DEFAULTS = {
  /**
   * The flush task. In the `report` phase and run after every other task of it (`last`), so that the trace
   * holds the whole run. Not critical: telemetry that cannot be exported is reported, but the pod's work is
   * done either way. 3 s: an OTLP export of a few thousand spans to a collector on the node or in the
   * cluster takes tens of milliseconds; what is left covers a slow collector, not a dead one (the exporter's
   * own timeout, 10 s, is longer than most grace periods allow).
   */
  name: 'otel-flush',
  phase: 'report',
  timeoutMs: 3_000,
  critical: false,
  /**
   * What the flush task does to the SDK: `'shutdown'` — `forceFlush()` where there is one, then
   * `shutdown()`: the process is about to exit, and a shut-down SDK drops what ends after it rather than
   * leaving it half-sent. `'forceFlush'` keeps the SDK running (an embedded coordinator, `exit: false`).
   */
  flush: 'shutdown' as 'shutdown' | 'forceFlush',
  /** The instrumentation scope of the tracer and the meter. */
  scope: '@lameduck/otel',
} as const

/** Every option `instrumentShutdown` accepts: the kit's task options and its own (the README's table is checked against it). */
export const INSTRUMENT_SHUTDOWN_OPTIONS = [
  ...TASK_OPTION_KEYS,
  ...['tracerProvider', 'meterProvider', 'sdk', 'flush'],
] as const
