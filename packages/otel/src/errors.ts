import { LameduckError } from '@lameduck/core'
import { errorMessage } from '@lameduck/core/adapter'

/**
 * The closed catalogue of the error codes `@lameduck/otel` throws or records: {@link OtelFlushFailedError}
 * and {@link OtelNothingToFlushError}. Wrong options throw core's codes (`LAMEDUCK_ERR_INVALID_OPTION`, …).
 */
export const OTEL_ERROR_CODES = [
  /** The SDK's `forceFlush()` or `shutdown()` rejected: an exporter that could not send, a closed SDK. */
  'LAMEDUCK_ERR_OTEL_FLUSH_FAILED',
  /** No `sdk` was given, and neither tracer provider nor meter provider has `forceFlush()` or `shutdown()`. */
  'LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH',
] as const

/** The warning codes `@lameduck/otel` emits of its own: none. */
export const OTEL_WARNING_CODES = [] as const

/**
 * The flush task's `forceFlush()` or `shutdown()` of the SDK (or of a provider) rejected; `cause` is the
 * first rejection, `target` says whose it was. Telemetry not yet exported is lost. (A flush that does not
 * settle in time is the task's `timeout` instead.) Code `LAMEDUCK_ERR_OTEL_FLUSH_FAILED`.
 */
export class OtelFlushFailedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_OTEL_FLUSH_FAILED'

  constructor(
    /** The flush task's name. */
    readonly task: string,
    /** `'sdk'`, `'tracerProvider'` or `'meterProvider'`, and the method: `'sdk.shutdown()'`. */
    readonly target: string,
    options: { cause: unknown },
  ) {
    const { cause } = options
    super('LAMEDUCK_ERR_OTEL_FLUSH_FAILED', `${task}: ${target} failed: ${errorMessage(cause)}`, { cause })
  }
}

/**
 * The flush task found nothing to flush: no `sdk` option, and the tracer and meter providers (the given
 * ones, else the global ones) have neither `forceFlush()` nor `shutdown()` — the SDK was not started, or is
 * not registered globally. Code `LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH`.
 */
export class OtelNothingToFlushError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH'

  constructor(readonly task: string) {
    super(
      'LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH',
      `${task}: nothing to flush — no sdk option, and neither the tracer provider nor the meter provider has ` +
        'forceFlush() or shutdown() (was the OpenTelemetry SDK started and registered before the shutdown?)',
    )
  }
}

/** A code of {@link OTEL_ERROR_CODES}. */
export type OtelErrorCode = (typeof OTEL_ERROR_CODES)[number]
/** A code of {@link OTEL_WARNING_CODES} (none: `never`). */
export type OtelWarningCode = (typeof OTEL_WARNING_CODES)[number]
