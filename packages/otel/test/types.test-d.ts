import { createShutdown, type LameduckErrorCode, type Registration } from '@lameduck/core'
import {
  type InstrumentShutdownOptions,
  instrumentShutdown,
  OTEL_CONVENTIONS,
  OTEL_DEFAULTS,
  type OTEL_ERROR_CODES,
  type OTEL_WARNING_CODES,
  type OtelErrorCode,
  type OtelFlushFailedError,
  type OtelNothingToFlushError,
  type OtelSdk,
  type OtelWarningCode,
} from '@lameduck/otel'
import type { TracerProvider } from '@opentelemetry/api'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { NodeSDK, startNodeSdk } from '@opentelemetry/sdk-node'
import { TracerProvider as SdkTracerProvider } from '@opentelemetry/sdk-trace'
import { describe, expectTypeOf, it } from 'vitest'

describe('public types of @lameduck/otel', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })

  it('instrumentShutdown takes the SDK of sdk-node, or its providers, and returns a Registration', () => {
    expectTypeOf(instrumentShutdown(shutdown, { sdk: new NodeSDK() })).toEqualTypeOf<Registration>()
    instrumentShutdown(shutdown, { sdk: startNodeSdk() })
    instrumentShutdown(shutdown, {
      tracerProvider: new SdkTracerProvider(),
      meterProvider: new MeterProvider(),
      flush: 'forceFlush',
      timeoutMs: 2_000,
      critical: true,
      name: 'traces',
    })
    expectTypeOf(new NodeSDK()).toExtend<OtelSdk>()
    expectTypeOf(new SdkTracerProvider()).toExtend<TracerProvider>()
    expectTypeOf<InstrumentShutdownOptions['flush']>().toEqualTypeOf<'shutdown' | 'forceFlush' | undefined>()
    // @ts-expect-error an SDK needs shutdown()
    instrumentShutdown(shutdown, { sdk: { start() {} } })
    // @ts-expect-error an unknown option
    instrumentShutdown(shutdown, { tracer: new SdkTracerProvider() })
    // @ts-expect-error flush is one of two modes
    instrumentShutdown(shutdown, { flush: 'now' })
  })

  it('defaults, names and codes are literal types', () => {
    expectTypeOf(OTEL_DEFAULTS.name).toEqualTypeOf<'otel-flush'>()
    expectTypeOf(OTEL_DEFAULTS.phase).toEqualTypeOf<'report'>()
    expectTypeOf(OTEL_CONVENTIONS.spans.run).toEqualTypeOf<'lameduck shutdown'>()
    expectTypeOf<OtelErrorCode>().toEqualTypeOf<(typeof OTEL_ERROR_CODES)[number]>()
    expectTypeOf<OtelErrorCode>().toEqualTypeOf<
      'LAMEDUCK_ERR_OTEL_FLUSH_FAILED' | 'LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH'
    >()
    expectTypeOf<OtelErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<OtelWarningCode>().toEqualTypeOf<(typeof OTEL_WARNING_CODES)[number]>()
    expectTypeOf<OtelWarningCode>().toBeNever()
    expectTypeOf<OtelFlushFailedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_OTEL_FLUSH_FAILED'>()
    expectTypeOf<OtelNothingToFlushError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH'>()
  })
})
