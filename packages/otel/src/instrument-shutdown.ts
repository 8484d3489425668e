import {
  EXIT_CODES,
  InvalidOptionError,
  type Phase,
  type PhaseReport,
  type Registration,
  type Shutdown,
  type TaskReport,
} from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  hasMethods,
  oneOf,
  registerTask,
  requireClient,
  requireShutdown,
  settleBy,
  taskOptions,
  worstOutcome,
} from '@lameduck/core/adapter'
import {
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type MeterProvider,
  metrics,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import { DURATION_BUCKETS_S, OTEL_CONVENTIONS } from './conventions.js'
import { INSTRUMENT_SHUTDOWN_OPTIONS, OTEL_DEFAULTS } from './defaults.js'
import { OtelFlushFailedError, OtelNothingToFlushError } from './errors.js'

/**
 * What the flush task needs of an OpenTelemetry SDK: `shutdown()` — a `NodeSDK` of `@opentelemetry/sdk-node`
 * (which flushes its providers as it shuts them down), what `startNodeSdk()` returns — and `forceFlush()`
 * where it has one.
 */
export interface OtelSdk {
  shutdown(): Promise<unknown>
  forceFlush?(): Promise<unknown>
}

/** The options of {@link instrumentShutdown}; every default is in {@link OTEL_DEFAULTS}. */
export interface InstrumentShutdownOptions extends AdapterTaskOptions {
  /** Where the spans go. Default: the global one (`trace.getTracerProvider()`, set by `NodeSDK.start()`). */
  tracerProvider?: TracerProvider
  /** Where the metrics go. Default: the global one (`metrics.getMeterProvider()`), read at the first trigger. */
  meterProvider?: MeterProvider
  /**
   * The SDK the flush task flushes and shuts down (a `NodeSDK`). Without it, the flush task flushes and shuts
   * down the tracer and meter providers (the given ones, else the global ones) that have `forceFlush()` or
   * `shutdown()`.
   */
  sdk?: OtelSdk
  /**
   * `'shutdown'`: `forceFlush()` where there is one, then `shutdown()`; `'forceFlush'`: only `forceFlush()`,
   * the SDK keeps running. Default: {@link OTEL_DEFAULTS}`.flush`.
   */
  flush?: 'shutdown' | 'forceFlush'
  /** Budget of the flush. Default: {@link OTEL_DEFAULTS}`.timeoutMs`. */
  timeoutMs?: number
  /** Whether a failed flush makes the exit code non-zero. Default: {@link OTEL_DEFAULTS}`.critical`. */
  critical?: boolean
  /**
   * The flush task's name. Default: {@link OTEL_DEFAULTS}`.name`, numbered when taken (`otel-flush-2`); a name
   * you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** Only `'report'` (the default): the flush must come after every phase it traces. */
  phase?: Phase
}

const WHERE = 'instrumentShutdown'
const { spans: SPANS, attributes: A, metrics: M } = OTEL_CONVENTIONS

/** Something the flush task can flush: the SDK, or a provider with `forceFlush()` or `shutdown()`. */
interface Target {
  label: 'sdk' | 'tracerProvider' | 'meterProvider'
  flushable: { forceFlush?: () => Promise<unknown>; shutdown?: () => Promise<unknown> }
}

/**
 * Records the shutdown as an OpenTelemetry trace — a root span for the run, a child span per phase and a
 * grandchild per task, with their budgets, outcomes and errors — and as a few metrics (see the README), and
 * registers the task that exports them: in the `report` phase, after every other task of it, it ends the
 * run's span, then flushes and shuts down the SDK (`sdk`, or the providers) within its budget. A collector
 * that is down or hangs makes that task fail or time out (not critical by default); it never holds the exit.
 * One coordinator is instrumented once per tracer provider: a second call throws `DuplicateRegistrationError`
 * until the first is removed. Uses only `@opentelemetry/api`.
 */
export function instrumentShutdown(shutdown: Shutdown, options: InstrumentShutdownOptions = {}): Registration {
  requireShutdown(WHERE, shutdown, 'instrumentShutdown(shutdown, options?)')
  checkOptions(WHERE, options, INSTRUMENT_SHUTDOWN_OPTIONS)
  const task = taskOptions(WHERE, options, OTEL_DEFAULTS)
  if (task.phase !== 'report')
    throw new InvalidOptionError(
      `phase of ${WHERE}`,
      `the flush runs in the 'report' phase, after every phase it traces; got '${task.phase}'`,
    )
  const tracerProvider =
    options.tracerProvider === undefined
      ? trace.getTracerProvider()
      : requireClient<TracerProvider>(`tracerProvider of ${WHERE}`, options.tracerProvider, 'a TracerProvider', [
          'getTracer',
        ])
  const meterProvider =
    options.meterProvider === undefined
      ? undefined
      : requireClient<MeterProvider>(`meterProvider of ${WHERE}`, options.meterProvider, 'a MeterProvider', [
          'getMeter',
        ])
  const sdk =
    options.sdk === undefined
      ? undefined
      : requireClient<OtelSdk>(`sdk of ${WHERE}`, options.sdk, 'an OpenTelemetry SDK (a NodeSDK)', ['shutdown'])
  if (sdk?.forceFlush !== undefined && typeof sdk.forceFlush !== 'function')
    throw new InvalidOptionError(`sdk.forceFlush of ${WHERE}`, 'expected a function, or no forceFlush at all')
  const flush = oneOf(`flush of ${WHERE}`, options.flush, ['shutdown', 'forceFlush'] as const, OTEL_DEFAULTS.flush)
  if (flush === 'forceFlush' && sdk !== undefined && sdk.forceFlush === undefined)
    throw new InvalidOptionError(
      `flush of ${WHERE}`,
      "the sdk has no forceFlush() (a NodeSDK has only shutdown()): use flush: 'shutdown', " +
        'or give the tracerProvider and meterProvider instead of the sdk',
    )

  const trail = new Trail(shutdown, tracerProvider, meterProvider)
  // Listening starts once the registration stands: a refused one (a duplicate) leaves nothing behind.
  let offs: (() => void)[] = []
  const registration = registerTask(shutdown, {
    where: WHERE,
    task,
    last: true,
    resource: tracerProvider,
    resourceLabel: 'this tracer provider',
    onRemove: () => {
      for (const off of offs) off()
      // Removed during a run (before the report phase): end what is open now, rather than leave the run's,
      // a phase's and its tasks' spans open for ever (never exported, a leak per run).
      trail.close(shutdown.clock.now())
    },
    async run(signal, context) {
      // First end what is still open, so that the flush below exports it: the report phase's span (its
      // other tasks have settled: this task runs last) and the run's.
      trail.close(context.clock.now())
      const targets = flushTargets(sdk, tracerProvider, meterProvider, flush)
      if (targets.length === 0) throw new OtelNothingToFlushError(registration.name)
      context.detail({ flushed: targets.map((t) => t.label), flush })
      const work = Promise.all(targets.map((target) => flushOne(registration.name, target, flush)))
      // The work goes on unobserved once the task has timed out (its signal aborted); the process exits anyway.
      const settled = await settleBy(work, Number.POSITIVE_INFINITY, { clock: context.clock, signal })
      if (!settled.done) throw signal.reason
    },
  })
  trail.ownTask = registration.name
  offs = trail.listen()
  return registration
}

/** What to flush: the sdk, else the providers that can be flushed (a global proxy's delegate included). */
function flushTargets(
  sdk: OtelSdk | undefined,
  tracerProvider: TracerProvider,
  meterProvider: MeterProvider | undefined,
  flush: 'shutdown' | 'forceFlush',
): Target[] {
  if (sdk !== undefined) return [{ label: 'sdk', flushable: sdk }]
  const methods = flush === 'shutdown' ? ['forceFlush', 'shutdown'] : ['forceFlush']
  const can = (value: unknown) => methods.some((m) => hasMethods(value, [m]))
  const targets: Target[] = []
  const tracing = delegateOf(tracerProvider)
  if (can(tracing)) targets.push({ label: 'tracerProvider', flushable: tracing as Target['flushable'] })
  const metering = meterProvider ?? metrics.getMeterProvider()
  if (can(metering) && metering !== tracing)
    targets.push({ label: 'meterProvider', flushable: metering as Target['flushable'] })
  return targets
}

/** The provider behind the API's global ProxyTracerProvider (`getDelegate()`), else the provider itself. */
function delegateOf(provider: TracerProvider): unknown {
  const proxy = provider as { getDelegate?: () => unknown }
  return typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : provider
}

/** `forceFlush()`, then (`flush: 'shutdown'`) `shutdown()`: a shut-down SDK flushes what it holds too. */
async function flushOne(task: string, { label, flushable }: Target, flush: 'shutdown' | 'forceFlush') {
  const call = async (method: 'forceFlush' | 'shutdown') => {
    try {
      await flushable[method]?.()
    } catch (cause) {
      throw new OtelFlushFailedError(task, `${label}.${method}()`, { cause })
    }
  }
  await call('forceFlush')
  if (flush === 'shutdown') await call('shutdown')
}

/** One coordinator's trace and metrics, kept from its events. */
class Trail {
  /** The flush task's name: it gets no span, as it runs after the trace has been handed to the exporter. */
  ownTask: string | undefined
  #tracer: Tracer | undefined
  #instruments: Instruments | undefined
  #run: { span: Span; context: Context; trigger: string; start: number } | undefined
  #phases = new Map<Phase, { span: Span; context: Context; start: number; tasks: TaskReport[] }>()
  #tasks = new Map<string, Span>()
  #closed = false

  constructor(
    readonly shutdown: Shutdown,
    readonly tracerProvider: TracerProvider,
    readonly meterProvider: MeterProvider | undefined,
  ) {}

  listen(): (() => void)[] {
    const { shutdown } = this
    return [
      shutdown.on('trigger', ({ trigger, reason, at, first }) => {
        if (!first) {
          // A trigger after the flush (another SIGTERM, shutdown() again with exit: false): the run's span
          // has ended, and is exported; nothing may be added to it.
          if (!this.#closed)
            this.#run?.span.addEvent('lameduck.trigger', { [A.trigger]: trigger, [A.reason]: reason }, at)
          return
        }
        this.#start(trigger, reason, at)
      }),
      shutdown.on('phaseStart', ({ phase, start, budgetMs, tasks }) => {
        const run = this.#run
        if (run === undefined || this.#closed) return
        const span = this.#tracer?.startSpan(
          `${SPANS.phase} ${phase}`,
          {
            startTime: start,
            attributes: { [A.phase]: phase, [A.phaseBudgetMs]: budgetMs, [A.phaseTasks]: tasks.length },
          },
          run.context,
        )
        if (span !== undefined)
          this.#phases.set(phase, { span, context: trace.setSpan(run.context, span), start, tasks: [] })
      }),
      shutdown.on('drainDelayEnd', (delay) => {
        this.#phases
          .get('readiness')
          ?.span.addEvent(
            'lameduck.drain_delay.end',
            { 'lameduck.drain_delay.mode': delay.mode, 'lameduck.drain_delay.ended_by': delay.endedBy },
            this.shutdown.clock.now(),
          )
      }),
      shutdown.on('taskStart', ({ name, phase, start, budgetMs }) => {
        if (name === this.ownTask || this.#closed) return
        const span = this.#taskSpan(name, phase, start, budgetMs)
        if (span !== undefined) this.#tasks.set(name, span)
      }),
      shutdown.on('taskEnd', (report) => {
        if (report.name === this.ownTask || this.#closed) return
        this.#phases.get(report.phase)?.tasks.push(report)
        this.#instruments?.taskDuration.record(report.durationMs / 1000, {
          [A.taskName]: report.name,
          [A.taskPhase]: report.phase,
          [A.taskOutcome]: report.outcome,
        })
        // A skipped task never started: its span is a point at the moment it was skipped.
        const span =
          this.#tasks.get(report.name) ?? this.#taskSpan(report.name, report.phase, report.start, report.budgetMs)
        this.#tasks.delete(report.name)
        if (span !== undefined) endTask(span, report)
      }),
      shutdown.on('phaseEnd', (report) => this.#endPhase(report.name, report.start + report.durationMs, report)),
      // Without a flush (it was removed, or skipped for want of time) the spans end here; nothing exports them
      // unless the application flushes the SDK itself.
      shutdown.on('report', (report) => this.close(report.end)),
    ]
  }

  #start(trigger: string, reason: string, at: number) {
    this.#tracer = this.tracerProvider.getTracer(OTEL_DEFAULTS.scope)
    // Read at the first trigger: the global meter provider has no proxy, and the SDK may start after us.
    const meter = (this.meterProvider ?? metrics.getMeterProvider()).getMeter(OTEL_DEFAULTS.scope)
    const histogram = (name: string, description: string) =>
      meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } })
    this.#instruments = {
      runs: meter.createCounter(M.runs, { unit: '{run}', description: 'Shutdown runs, by trigger and outcome.' }),
      runDuration: histogram(M.runDuration, 'Duration of the shutdown run, from the first trigger to the flush.'),
      phaseDuration: histogram(M.phaseDuration, 'Duration of each shutdown phase.'),
      taskDuration: histogram(M.taskDuration, 'Duration of each shutdown task, by task, phase and outcome.'),
    }
    const attributes: Attributes = {
      [A.trigger]: trigger,
      [A.reason]: reason,
      [A.gracePeriodMs]: this.shutdown.config.gracePeriodMs,
    }
    if (this.shutdown.deadline !== undefined) attributes[A.deadline] = this.shutdown.deadline
    // A root span: the run is not part of the request (a preStop GET /shutdown) that may have started it.
    const span = this.#tracer.startSpan(SPANS.run, { root: true, startTime: at, attributes }, ROOT_CONTEXT)
    this.#run = { span, context: trace.setSpan(ROOT_CONTEXT, span), trigger, start: at }
  }

  #taskSpan(name: string, phase: Phase, start: number, budgetMs: number): Span | undefined {
    const parent = this.#phases.get(phase)?.context ?? this.#run?.context
    if (parent === undefined) return undefined
    return this.#tracer?.startSpan(
      `${SPANS.task} ${name}`,
      { startTime: start, attributes: { [A.taskName]: name, [A.taskPhase]: phase, [A.taskBudgetMs]: budgetMs } },
      parent,
    )
  }

  #endPhase(phase: Phase, end: number, report?: PhaseReport) {
    const open = this.#phases.get(phase)
    if (open === undefined) return
    this.#phases.delete(phase)
    const outcome = report?.outcome ?? worstOutcome(open.tasks.map((t) => t.outcome))
    open.span.setAttribute(A.phaseOutcome, outcome)
    if (outcome === 'error' || outcome === 'timeout')
      open.span.setStatus({ code: SpanStatusCode.ERROR, message: `a task of the ${phase} phase: ${outcome}` })
    const durationMs = report?.durationMs ?? end - open.start
    this.#instruments?.phaseDuration.record(durationMs / 1000, { [A.phase]: phase, [A.phaseOutcome]: outcome })
    open.span.end(end)
  }

  /**
   * Ends every span still open — the report phase's, tasks that never ended, the run's — and counts the run,
   * with the exit code as it stands (the coordinator's `exitCode`: the report's once it is out). Once.
   */
  close(at: number) {
    if (this.#closed) return
    this.#closed = true
    const run = this.#run
    if (run === undefined) return
    for (const [name, span] of this.#tasks) {
      span.setAttribute(A.taskOutcome, 'unfinished')
      span.end(at)
      this.#tasks.delete(name)
    }
    // Only the report phase can still be open at the flush: its duration so far.
    for (const phase of [...this.#phases.keys()]) this.#endPhase(phase, at)
    const code = this.shutdown.exitCode ?? EXIT_CODES.ok
    const outcome = code === EXIT_CODES.ok ? 'ok' : 'failed'
    run.span.setAttributes({ [A.exitCode]: code, [A.outcome]: outcome })
    if (code !== EXIT_CODES.ok) run.span.setStatus({ code: SpanStatusCode.ERROR, message: `exit code ${code}` })
    const attributes = { [A.trigger]: run.trigger, [A.outcome]: outcome }
    this.#instruments?.runs.add(1, attributes)
    this.#instruments?.runDuration.record((at - run.start) / 1000, attributes)
    run.span.end(at)
  }
}

interface Instruments {
  runs: Counter
  runDuration: Histogram
  phaseDuration: Histogram
  taskDuration: Histogram
}

/** Ends a task's span with its report: outcome, duration, and for a failure the error and status ERROR. */
function endTask(span: Span, report: TaskReport) {
  span.setAttributes({
    [A.taskOutcome]: report.outcome,
    [A.taskCritical]: report.critical,
    [A.taskDurationMs]: report.durationMs,
    [A.taskBudgetMs]: report.budgetMs,
  })
  if (report.code !== undefined) span.setAttribute(A.errorCode, report.code)
  const end = report.start + report.durationMs
  if (report.outcome === 'error' || report.outcome === 'timeout') {
    const message = report.error ?? (report.outcome === 'timeout' ? `timed out after ${report.budgetMs} ms` : 'failed')
    span.recordException(
      { name: report.code ?? (report.outcome === 'timeout' ? 'TimeoutError' : 'Error'), message },
      end,
    )
    span.setStatus({ code: SpanStatusCode.ERROR, message })
  }
  span.end(end)
}
