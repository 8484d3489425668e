import { createRequire } from 'node:module'
import { sleep } from '@lameduck/core/adapter'
import { instrumentShutdown, OTEL_CONVENTIONS, OTEL_DEFAULTS, OtelFlushFailedError } from '@lameduck/otel'
import { metrics, trace } from '@opentelemetry/api'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterEach, describe, expect, it } from 'vitest'
import { describeAdapterContract, expectRefused } from '../../../test/support/adapter-contract.js'
import { fastClock } from '../../../test/support/clock.js'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'

// In-process: the adapter contract, the options refused at configuration time, and the order of the flush —
// the spans ended before the SDK is flushed — against the SDK's own providers and in-memory exporters.

const { spans: SPANS, attributes: A } = OTEL_CONVENTIONS
// The CommonJS build (built first), as an application that requires the package would load it.
const cjs = createRequire(import.meta.url)('@lameduck/otel') as typeof import('@lameduck/otel')

describeAdapterContract('@lameduck/otel', [
  {
    where: 'instrumentShutdown',
    defaults: OTEL_DEFAULTS,
    resource: () => new TracerProvider(),
    register: (shutdown, tracerProvider, options) =>
      instrumentShutdown(shutdown, (options === null ? null : { tracerProvider, ...options }) as never),
    registerCommonJs: (shutdown, tracerProvider) =>
      cjs.instrumentShutdown(shutdown, { tracerProvider: tracerProvider as TracerProvider }),
    members: [],
  },
])

/** A tracer provider exporting to memory at once (SimpleSpanProcessor), and its exporter. */
function memoryTracing() {
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  return { exporter, tracerProvider }
}

function memoryMetrics() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
  return { exporter, meterProvider: new MeterProvider({ readers: [reader] }) }
}

const names = (spans: ReadableSpan[]) => spans.map((s) => s.name)

describe('instrumentShutdown: what it refuses at configuration time', () => {
  const refused: [string, Record<string, unknown>, RegExp][] = [
    [
      'a tracer provider without getTracer()',
      { tracerProvider: {} },
      /tracerProvider of instrumentShutdown: expected a TracerProvider.*no getTracer\(\) method/,
    ],
    [
      'a tracer provider that is a string',
      { tracerProvider: 'otel' },
      /tracerProvider of instrumentShutdown: expected a TracerProvider/,
    ],
    [
      'a meter provider without getMeter()',
      { meterProvider: new TracerProvider() },
      /meterProvider of instrumentShutdown: .*no getMeter\(\)/,
    ],
    [
      'an sdk without shutdown()',
      { sdk: { start() {} } },
      /sdk of instrumentShutdown: expected an OpenTelemetry SDK.*no shutdown\(\)/,
    ],
    [
      'an sdk whose forceFlush is not a function',
      { sdk: { shutdown: async () => {}, forceFlush: true } },
      /sdk\.forceFlush of instrumentShutdown/,
    ],
    [
      'an unknown flush mode',
      { flush: 'flush' },
      /flush of instrumentShutdown: expected one of "shutdown", "forceFlush"/,
    ],
    [
      "flush: 'forceFlush' with a NodeSDK-like sdk (shutdown() only)",
      { flush: 'forceFlush', sdk: { shutdown: async () => {} } },
      /the sdk has no forceFlush\(\)/,
    ],
    [
      'a phase other than report',
      { phase: 'close' },
      /phase of instrumentShutdown: the flush runs in the 'report' phase/,
    ],
    ['null for an option', { sdk: null }, /sdk of instrumentShutdown/],
  ]
  it.each(refused)('%s: LAMEDUCK_ERR_INVALID_OPTION', async (_title, options, message) => {
    const shutdown = testShutdown()
    await expectRefused(
      () => instrumentShutdown(shutdown, { tracerProvider: new TracerProvider(), ...options }),
      'LAMEDUCK_ERR_INVALID_OPTION',
      message,
    )
    // Nothing was registered: the run has no flush task.
    const report = await shutdown.shutdown()
    expect(report.phases.flatMap((p) => p.tasks)).toEqual([])
  })

  it('an unknown option: LAMEDUCK_ERR_UNKNOWN_OPTION with the nearest known one', async () => {
    await expectRefused(
      () => instrumentShutdown(testShutdown(), { tracer: new TracerProvider() } as never),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /unknown option "tracer" — did you mean "tracerProvider"\?/,
    )
  })

  it('called twice on one coordinator with the global tracer provider: DuplicateRegistrationError', async () => {
    const shutdown = testShutdown()
    const first = instrumentShutdown(shutdown, { flush: 'forceFlush' })
    expect(() => instrumentShutdown(shutdown, { name: 'again' })).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
        message: expect.stringMatching(/^instrumentShutdown: this tracer provider is already registered/),
      }),
    )
    first.remove()
    expect(instrumentShutdown(shutdown).name).toBe(OTEL_DEFAULTS.name)
  })

  it('a refused second call leaves nothing behind: one trace of the run, not two', async () => {
    const { exporter, tracerProvider } = memoryTracing()
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, { tracerProvider, flush: 'forceFlush' })
    expect(() => instrumentShutdown(shutdown, { tracerProvider, name: 'again' })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' }),
    )
    await shutdown.shutdown()
    expect(names(exporter.getFinishedSpans()).filter((name) => name === SPANS.run)).toHaveLength(1)
    await tracerProvider.shutdown()
  })
})

describe('instrumentShutdown: the flush', () => {
  afterEach(() => {
    trace.disable()
    metrics.disable()
  })

  it("ends the report phase's span and the run's span before it flushes, then shuts the SDK down", async () => {
    const { exporter, tracerProvider } = memoryTracing()
    const calls: string[] = []
    let exportedAtShutdown: string[] = []
    const sdk = {
      shutdown: async () => {
        calls.push('shutdown')
        exportedAtShutdown = names(exporter.getFinishedSpans())
        await tracerProvider.shutdown()
      },
    }
    const shutdown = testShutdown()
    shutdown.addTask({ name: 'last-words', phase: 'report', timeoutMs: 1_000, run: () => {} })
    instrumentShutdown(shutdown, { tracerProvider, sdk })
    const report = await shutdown.shutdown('test')
    expect(calls).toEqual(['shutdown'])
    expect(taskReport(report, OTEL_DEFAULTS.name)).toMatchObject({
      outcome: 'ok',
      details: { flushed: ['sdk'], flush: 'shutdown' },
    })
    // Every span had ended — and so been handed to the exporter — when the SDK was shut down: the tasks',
    // every phase's (report included, before its end) and the run's, last.
    expect(exportedAtShutdown).toEqual([
      `${SPANS.phase} readiness`,
      `${SPANS.phase} drain`,
      `${SPANS.phase} flush`,
      `${SPANS.phase} release`,
      `${SPANS.phase} close`,
      `${SPANS.task} last-words`,
      `${SPANS.phase} report`,
      SPANS.run,
    ])
  })

  it("flush: 'forceFlush' flushes the providers and leaves them running; the trace's shape and attributes", async () => {
    const { exporter, tracerProvider } = memoryTracing()
    const { exporter: metricExporter, meterProvider } = memoryMetrics()
    const shutdown = testShutdown({ gracePeriodMs: 20_000 })
    shutdown.addTask({
      name: 'broken',
      phase: 'flush',
      timeoutMs: 1_000,
      critical: true,
      run: () => {
        throw new OtelFlushFailedError('x', 'sdk.shutdown()', { cause: new Error('boom') })
      },
    })
    instrumentShutdown(shutdown, { tracerProvider, meterProvider, flush: 'forceFlush' })
    const report = await shutdown.shutdown('deploy')
    expect(taskReport(report, OTEL_DEFAULTS.name)).toMatchObject({
      outcome: 'ok',
      details: { flushed: ['tracerProvider', 'meterProvider'] },
    })
    const spans = exporter.getFinishedSpans()
    const run = spans.find((s) => s.name === SPANS.run) as ReadableSpan
    expect(run.parentSpanContext).toBeUndefined()
    expect(run.attributes).toMatchObject({
      [A.trigger]: 'manual',
      [A.reason]: 'deploy',
      [A.gracePeriodMs]: 20_000,
      [A.deadline]: report.deadline,
      [A.exitCode]: 1,
      [A.outcome]: 'failed',
    })
    expect(run.status.code).toBe(2)
    const flushPhase = spans.find((s) => s.name === `${SPANS.phase} flush`) as ReadableSpan
    expect(flushPhase.parentSpanContext?.spanId).toBe(run.spanContext().spanId)
    const broken = spans.find((s) => s.name === `${SPANS.task} broken`) as ReadableSpan
    expect(broken.parentSpanContext?.spanId).toBe(flushPhase.spanContext().spanId)
    expect(broken.attributes).toMatchObject({
      [A.taskOutcome]: 'error',
      [A.errorCode]: 'LAMEDUCK_ERR_OTEL_FLUSH_FAILED',
      [A.taskCritical]: true,
    })
    expect(broken.events.map((e) => e.name)).toEqual(['exception'])
    // Still running: a span started now is exported too, and metrics were exported by the flush.
    tracerProvider.getTracer('after').startSpan('after').end()
    expect(names(exporter.getFinishedSpans())).toContain('after')
    const exported = metricExporter
      .getMetrics()
      .flatMap((m) => m.scopeMetrics)
      .flatMap((s) => s.metrics)
      .map((m) => m.descriptor.name)
    expect(new Set(exported)).toEqual(new Set(Object.values(OTEL_CONVENTIONS.metrics)))
    await tracerProvider.shutdown()
    await meterProvider.shutdown()
  })

  // Ten times faster than the wall clock: a task of 2 s on the coordinator's clock takes 200 ms. The spans
  // carry the coordinator's times, as the report does — not the wall clock's.
  it('a start-up that failed before the trigger: the run span, ended before the report, says exit code 1', async () => {
    const { exporter, tracerProvider } = memoryTracing()
    const shutdown = testShutdown()
    shutdown.startup.task('migrations', () => Promise.reject(new Error('relation missing')))
    expect((await shutdown.startup.done()).state).toBe('failed')
    instrumentShutdown(shutdown, { tracerProvider, flush: 'forceFlush' })
    const report = await shutdown.shutdown('deploy')
    expect(report.exitCode).toBe(1)
    const run = exporter.getFinishedSpans().find((s) => s.name === SPANS.run) as ReadableSpan
    expect(run.attributes).toMatchObject({ [A.exitCode]: 1, [A.outcome]: 'failed' })
    expect(run.status.code).toBe(2)
  })

  it("times the spans by the coordinator's clock, as the report", async () => {
    const { exporter, tracerProvider } = memoryTracing()
    const clock = fastClock(10)
    const shutdown = testShutdown({ clock, gracePeriodMs: 60_000 })
    shutdown.addTask({
      name: 'slow',
      phase: 'close',
      timeoutMs: 10_000,
      run: (signal) => sleep(2_000, { clock, signal }),
    })
    instrumentShutdown(shutdown, { tracerProvider, flush: 'forceFlush' })
    const report = await shutdown.shutdown()
    const entry = taskReport(report, 'slow')
    expect(entry.durationMs).toBeGreaterThanOrEqual(1_900)
    const span = exporter.getFinishedSpans().find((s) => s.name === `${SPANS.task} slow`) as ReadableSpan
    const ms = ([seconds, nanos]: [number, number]) => seconds * 1_000 + nanos / 1e6
    expect(ms(span.startTime)).toBeCloseTo(entry.start, 0)
    expect(ms(span.duration)).toBeCloseTo(entry.durationMs, 0)
    const run = exporter.getFinishedSpans().find((s) => s.name === SPANS.run) as ReadableSpan
    expect(ms(run.startTime)).toBeCloseTo(report.start, 0)
    await tracerProvider.shutdown()
  })

  it("the global providers, unwrapped from the API's proxy, when none is given", async () => {
    const { exporter, tracerProvider } = memoryTracing()
    trace.setGlobalTracerProvider(tracerProvider)
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, { flush: 'forceFlush' })
    const report = await shutdown.shutdown()
    expect(taskReport(report, OTEL_DEFAULTS.name)).toMatchObject({
      outcome: 'ok',
      details: { flushed: ['tracerProvider'] },
    })
    expect(names(exporter.getFinishedSpans())).toContain(SPANS.run)
  })

  it('no SDK at all (the no-op global providers): the flush task fails with OtelNothingToFlushError', async () => {
    const shutdown = testShutdown()
    instrumentShutdown(shutdown)
    const report = await shutdown.shutdown()
    expect(taskReport(report, OTEL_DEFAULTS.name)).toMatchObject({
      outcome: 'error',
      critical: false,
      code: 'LAMEDUCK_ERR_OTEL_NOTHING_TO_FLUSH',
    })
    expect(report.exitCode).toBe(0)
  })

  it("a rejected sdk.shutdown(): OtelFlushFailedError naming the call, the SDK's error as its cause", async () => {
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, {
      tracerProvider: new TracerProvider(),
      sdk: { shutdown: () => Promise.reject(new Error('exporter: ECONNREFUSED')) },
    })
    const report = await shutdown.shutdown()
    expect(taskReport(report, OTEL_DEFAULTS.name)).toMatchObject({
      outcome: 'error',
      code: 'LAMEDUCK_ERR_OTEL_FLUSH_FAILED',
      error: 'otel-flush: sdk.shutdown() failed: exporter: ECONNREFUSED',
    })
  })

  it('an SDK that never settles: the task times out at its budget and the run goes on', async () => {
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, {
      tracerProvider: new TracerProvider(),
      sdk: { shutdown: () => new Promise(() => {}) },
      timeoutMs: 200,
    })
    const started = performance.now()
    const report = await shutdown.shutdown()
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(taskReport(report, OTEL_DEFAULTS.name)).toMatchObject({ outcome: 'timeout', budgetMs: 200 })
  })

  it('remove() takes the listeners off: no span of a later run', async () => {
    const { exporter, tracerProvider } = memoryTracing()
    const shutdown = testShutdown()
    instrumentShutdown(shutdown, { tracerProvider }).remove()
    await shutdown.shutdown()
    expect(exporter.getFinishedSpans()).toEqual([])
  })
})
