// Every span instrumentShutdown starts is ended exactly once, and nothing is done to a span after its end —
// in the ways a run can go: a task that times out, a second trigger during the run and after it, remove()
// before and during the run. Checked through a tracer provider whose spans record every misuse (the SDK only
// prints a diag warning and drops the call).

import { sleep } from '@lameduck/core/adapter'
import { instrumentShutdown, OTEL_CONVENTIONS, OTEL_DEFAULTS } from '@lameduck/otel'
import type { Context, Span, SpanOptions, Tracer, TracerProvider } from '@opentelemetry/api'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  InMemorySpanExporter,
  TracerProvider as SdkTracerProvider,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace'
import { describe, expect, it } from 'vitest'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'

const { spans: SPANS, attributes: A } = OTEL_CONVENTIONS

/** The SDK's provider, its spans wrapped: `misuse` lists each call on an ended span, `open()` the spans not ended. */
function strictTracing() {
  const exporter = new InMemorySpanExporter()
  const sdk = new SdkTracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  const misuse: string[] = []
  const started: { name: string; ended: number }[] = []
  const wrap = (span: Span, name: string): Span => {
    const entry = { name, ended: 0 }
    started.push(entry)
    return new Proxy(span, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver)
        if (typeof value !== 'function' || key === 'spanContext' || key === 'isRecording') return value
        return (...args: unknown[]) => {
          if (entry.ended > 0) misuse.push(`${String(key)}() on the ended span "${name}"`)
          if (key === 'end') entry.ended++
          return value.apply(target, args)
        }
      },
    })
  }
  const tracerProvider: TracerProvider = {
    getTracer(scope, version, options): Tracer {
      const tracer = sdk.getTracer(scope, version, options)
      return {
        startSpan: (name: string, options?: SpanOptions, context?: Context) =>
          wrap(tracer.startSpan(name, options, context), name),
        startActiveSpan: tracer.startActiveSpan.bind(tracer) as Tracer['startActiveSpan'],
      }
    },
  }
  return {
    exporter,
    tracerProvider,
    misuse,
    open: () => started.filter((s) => s.ended === 0).map((s) => s.name),
    started: () => started.map((s) => s.name),
  }
}

describe('instrumentShutdown: every span ends exactly once', () => {
  it('a task that times out, and the flush', async () => {
    const tracing = strictTracing()
    const shutdown = testShutdown({ gracePeriodMs: 2_000, safetyMarginMs: 0 })
    shutdown.addTask({ name: 'hangs', phase: 'drain', timeoutMs: 100, run: () => new Promise(() => {}) })
    shutdown.addTask({ name: 'slow', phase: 'close', timeoutMs: 1_000, run: (signal) => sleep(50, { signal }) })
    instrumentShutdown(shutdown, { tracerProvider: tracing.tracerProvider, flush: 'forceFlush' })
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'hangs').outcome).toBe('timeout')
    expect(tracing.misuse).toEqual([])
    expect(tracing.open()).toEqual([])
    expect(tracing.started().filter((n) => n === SPANS.run)).toHaveLength(1)
  })

  it('a trigger after the run (exit: false: shutdown() again) is not added to the ended run span', async () => {
    const tracing = strictTracing()
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, { tracerProvider: tracing.tracerProvider, flush: 'forceFlush' })
    await shutdown.shutdown('first')
    await shutdown.shutdown('second')
    expect(tracing.misuse).toEqual([])
    expect(tracing.open()).toEqual([])
  })

  it('a trigger during the run, before the flush: an event on the run span', async () => {
    const tracing = strictTracing()
    const shutdown = testShutdown()
    let again: Promise<unknown> | undefined
    shutdown.addTask({
      name: 'again',
      phase: 'drain',
      timeoutMs: 1_000,
      run: () => {
        again = shutdown.shutdown('again')
      },
    })
    instrumentShutdown(shutdown, { tracerProvider: tracing.tracerProvider, flush: 'forceFlush' })
    await shutdown.shutdown('first')
    await again
    const run = tracing.exporter.getFinishedSpans().find((s) => s.name === SPANS.run)
    expect(run?.events.map((e) => [e.name, e.attributes?.[A.reason]])).toEqual([['lameduck.trigger', 'again']])
    expect(tracing.misuse).toEqual([])
  })

  it('remove() during the run (before the report phase): what was open is ended, nothing is left behind', async () => {
    const tracing = strictTracing()
    const shutdown = testShutdown()
    let handle: { remove(): void } | undefined
    shutdown.addTask({
      name: 'removes',
      phase: 'drain',
      timeoutMs: 1_000,
      run: () => handle?.remove(),
    })
    handle = instrumentShutdown(shutdown, { tracerProvider: tracing.tracerProvider, flush: 'forceFlush' })
    const report = await shutdown.shutdown()
    expect(report.phases.flatMap((p) => p.tasks).map((t) => t.name)).not.toContain(OTEL_DEFAULTS.name)
    expect(tracing.started()).toContain(SPANS.run)
    expect(tracing.open()).toEqual([])
    expect(tracing.misuse).toEqual([])
  })

  it('remove() before the trigger: no span at all', async () => {
    const tracing = strictTracing()
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, { tracerProvider: tracing.tracerProvider }).remove()
    await shutdown.shutdown()
    expect(tracing.started()).toEqual([])
  })
})

describe('instrumentShutdown: the metrics, once per run', () => {
  it('one run counted (unit {run}), one run duration, one duration per phase — a later trigger adds none', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
    const meterProvider = new MeterProvider({ readers: [reader] })
    const tracing = strictTracing()
    const shutdown = testShutdown()
    shutdown.addTask({ name: 'work', phase: 'drain', timeoutMs: 1_000, run: () => {} })
    instrumentShutdown(shutdown, { tracerProvider: tracing.tracerProvider, meterProvider, flush: 'forceFlush' })
    await shutdown.shutdown()
    await shutdown.shutdown('again')
    await reader.forceFlush()
    const { metrics: M } = OTEL_CONVENTIONS
    const latest =
      exporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((s) => s.metrics) ?? []
    const of = (name: string) => latest.find((m) => m.descriptor.name === name)
    const runs = of(M.runs)
    expect(runs?.descriptor.unit).toBe('{run}')
    expect(runs?.dataPoints.map((p) => p.value)).toEqual([1])
    const count = (name: string) =>
      (of(name)?.dataPoints ?? []).reduce((sum, p) => sum + (p.value as { count: number }).count, 0)
    expect(count(M.runDuration)).toBe(1)
    expect(count(M.phaseDuration)).toBe(6)
    expect(count(M.taskDuration)).toBe(1) // the flush task is not among them
    await meterProvider.shutdown()
  })
})
