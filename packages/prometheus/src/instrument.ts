import {
  type HealthState,
  InvalidOptionError,
  PHASES,
  type Registration,
  type Shutdown,
  type ShutdownState,
  type StartupState,
} from '@lameduck/core'
import {
  checkOptions,
  claimResource,
  describeValue,
  orDefault,
  type ResourceClaim,
  registration,
  requireShutdown,
} from '@lameduck/core/adapter'
import { Counter, Gauge, type Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'
import { registryOption } from './registry.js'
import { type CheckedSources, checkSources, type Sources } from './sources.js'

export interface InstrumentOptions extends Sources {
  /** Registry to register the metrics in. Default: prom-client's global registry. */
  registry?: Registry
  /** Metric name prefix. Default: {@link PROMETHEUS_DEFAULTS}`.prefix`. */
  prefix?: string
}

/**
 * What `instrument` returns: a {@link Registration} — `name` ({@link PROMETHEUS_DEFAULTS}`.instrumentName`),
 * `remove()` (also `[Symbol.dispose]`), which takes lameduck's metrics out of the registry and stops
 * listening — and the registry.
 */
export interface Instrumentation extends Registration {
  readonly registry: Registry
}

type Labels = Record<string, string>
/** A metric's series as `collect()` sets them at scrape time: its labels and its value. */
type Series = [labels: Labels, value: number][]

/** One metric: its type, help text and labels; `read` gives its series at scrape time (else events set it). */
interface MetricSpec {
  type: typeof Gauge | typeof Counter
  help: string
  labels?: readonly string[]
  read?: (shutdown: Shutdown) => Series
}

const STATES: ShutdownState[] = ['running', 'draining', 'stopping', 'stopped']
const STARTUP_STATES: StartupState[] = ['pending', 'done', 'failed', 'aborted']
const HEALTH_STATES: HealthState[] = ['ok', 'degraded', 'failing']
const OUTCOMES = ['ok', 'error', 'timeout', 'skipped'] as const

/** The coordinator's metrics, by name without the prefix. */
const COORDINATOR_METRICS = {
  state: {
    type: Gauge,
    help: 'Coordinator state: 1 for the current one of running, draining, stopping, stopped.',
    labels: ['state'],
    read: (shutdown) => STATES.map((state) => [{ state }, shutdown.state === state ? 1 : 0]),
  },
  ready: {
    type: Gauge,
    help: '1 while the service accepts new work (readiness: start-up done, no trigger yet), else 0.',
    read: (shutdown) => [[{}, shutdown.isReady() ? 1 : 0]],
  },
  shutdown_triggers_total: {
    type: Counter,
    help: 'Shutdown triggers received, by kind (signal, http, manual, fatal, dispose); later ones join the first run.',
    labels: ['trigger'],
  },
  shutdown_start_time_seconds: { type: Gauge, help: 'Unix time of the first shutdown trigger.' },
  shutdown_duration_seconds: {
    type: Gauge,
    help: 'Time from the first trigger to the end of the last finished phase.',
  },
  shutdown_deadline_margin_seconds: {
    type: Gauge,
    help: 'Time left before the deadline when the last finished phase ended; near 0 means the budgets are too tight.',
  },
  shutdown_exit_code: {
    type: Gauge,
    help: 'Exit code of the shutdown (0: every critical task succeeded so far), as it stands at the scrape or push; final after the report phase.',
    // The coordinator's own provisional code: a push in the report phase comes before the report.
    read: (shutdown) => (shutdown.exitCode === undefined ? [] : [[{}, shutdown.exitCode]]),
  },
  task_duration_seconds: {
    type: Gauge,
    help: 'How long each shutdown task ran, by task, phase and outcome (ok, error, timeout, skipped).',
    labels: ['task', 'phase', 'outcome'],
  },
  tasks_total: { type: Counter, help: 'Shutdown tasks finished, by phase and outcome.', labels: ['phase', 'outcome'] },
  phase_duration_seconds: { type: Gauge, help: 'How long each shutdown phase ran.', labels: ['phase'] },
  health_check_status: {
    type: Gauge,
    help: 'Health check status: 1 for the current one of ok, degraded, failing, by check (from its last run; a removed check has none).',
    labels: ['check', 'status'],
    read: (shutdown) =>
      Object.entries((shutdown as Partial<Shutdown>).health?.latest?.() ?? {}).flatMap(([check, last]) =>
        HEALTH_STATES.map((status): Series[number] => [{ check, status }, last.status === status ? 1 : 0]),
      ),
  },

  startup_state: {
    type: Gauge,
    help: 'Start-up state: 1 for the current one of pending, done, failed, aborted.',
    labels: ['state'],
    read: (shutdown) => {
      // A coordinator of a core without start-up: it is done from the start.
      const now = (shutdown as Partial<Shutdown>).startup?.state ?? 'done'
      return STARTUP_STATES.map((state) => [{ state }, now === state ? 1 : 0])
    },
  },
  startup_duration_seconds: {
    type: Gauge,
    help: 'From the first start-up task to the end of the start-up (done, failed or aborted).',
  },
} satisfies Record<string, MetricSpec>

/**
 * The adapters' metrics, read at scrape time from the sources given: each exists only when its kind of
 * source is given, with one series per source, labelled `label`. Counters expose the adapter's own
 * running total.
 */
// biome-ignore format: one metric a line
const ADAPTER_METRICS: AdapterMetric[] = [
  adapterMetric('http', 'server', 'http_open_connections', Gauge, 'Open HTTP connections (HTTP/1 sockets and HTTP/2 sessions), by server.', (s) => s.connections()),
  adapterMetric('http', 'server', 'http_requests_in_flight', Gauge, 'HTTP requests in flight, by server.', (s) => s.inFlight()),
  adapterMetric('http', 'server', 'http_forced_closes_total', Counter, 'Connections force-closed at the drain deadline, by server (0 until the drain ran).', (s) => s.stats?.forced ?? 0),
  adapterMetric('caches', 'cache', 'cache_dirty_entries', Gauge, 'Write-behind cache entries not yet written to their sink, by cache.', (c) => c.dirty),
  adapterMetric('caches', 'cache', 'cache_flushed_entries_total', Counter, 'Entries written to the sink since start, by cache.', (c) => c.stats().flushed),
  adapterMetric('caches', 'cache', 'cache_failed_writes_total', Counter, 'Failed sink writes since start (each retried), by cache.', (c) => c.stats().failedWrites),
  // A count, or the held locks themselves (counted by length).
  adapterMetric('locks', 'store', 'locks_held', Gauge, 'Distributed locks held, by store.', (l) => l.held()),
]

interface AdapterMetric {
  kind: keyof CheckedSources
  name: string
  spec: (sources: CheckedSources) => MetricSpec
}

function adapterMetric<K extends keyof CheckedSources>(
  kind: K,
  label: string,
  name: string,
  type: MetricSpec['type'],
  help: string,
  read: (source: CheckedSources[K][number][1]) => unknown,
): AdapterMetric {
  return {
    kind,
    name,
    spec: (sources) => ({
      type,
      help,
      labels: [label],
      read: () => {
        const series: Series = []
        for (const [value, source] of sources[kind] as CheckedSources[K]) {
          const count = readCount(() => read(source))
          if (count !== undefined) series.push([{ [label]: value }, count])
        }
        return series
      },
    }),
  }
}

export const INSTRUMENT_OPTIONS: readonly (keyof InstrumentOptions)[] = [
  'registry',
  'prefix',
  'http',
  'caches',
  'locks',
]

const where = 'instrument'

/**
 * Registers lameduck's metrics (see the README for the list) and keeps them current from the
 * coordinator's events; adapter metrics are read at scrape time from the objects in `http`, `caches`
 * and `locks`. One coordinator is instrumented once per registry: a second `instrument` of the same
 * registry throws `DuplicateRegistrationError` until the first is removed.
 */
export function instrument(shutdown: Shutdown, options: InstrumentOptions = {}): Instrumentation {
  requireShutdown(where, shutdown, 'instrument(shutdown, options?)')
  checkOptions(where, options, INSTRUMENT_OPTIONS)
  const registry = registryOption(where, options.registry)
  const prefix = orDefault(options.prefix, PROMETHEUS_DEFAULTS.prefix)
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new InvalidOptionError(
      `prefix of ${where}`,
      `expected a metric name prefix (letters, digits, _ and :, not starting with a digit); got ${describeValue(prefix)}`,
    )
  const sources = checkSources(where, options)
  const claim = claimResource(shutdown, where, registry, 'this registry')
  try {
    return instrumentIn(shutdown, registry, prefix, sources, claim)
  } catch (error) {
    claim.release()
    throw error
  }
}

function instrumentIn(
  shutdown: Shutdown,
  registry: Registry,
  prefix: string,
  sources: CheckedSources,
  claim: ResourceClaim,
): Instrumentation {
  const name = PROMETHEUS_DEFAULTS.instrumentName
  claim.name(name)
  const specs: [string, MetricSpec][] = [
    ...Object.entries(COORDINATOR_METRICS),
    ...ADAPTER_METRICS.filter((m) => sources[m.kind].length > 0).map((m): [string, MetricSpec] => [
      m.name,
      m.spec(sources),
    ]),
  ].map(([metric, spec]) => [`${prefix}${metric}`, spec])
  // Another coordinator (or the application) already has one of these names in this registry.
  const taken = specs.find(([metric]) => registry.getSingleMetric(metric) !== undefined)
  if (taken !== undefined)
    throw new InvalidOptionError(
      `registry of ${where}`,
      `it already has a metric named ${taken[0]} (another coordinator's instrument(), or one of the application's); ` +
        'give this coordinator another prefix or another registry',
    )
  const metrics = new Map(specs.map(([metric, spec]) => [metric, create(metric, spec, registry, shutdown)]))
  const gauge = (metric: keyof typeof COORDINATOR_METRICS) => metrics.get(`${prefix}${metric}`) as Gauge
  const counter = (metric: keyof typeof COORDINATOR_METRICS) => metrics.get(`${prefix}${metric}`) as Counter

  // Zero-initialised so that rate() and increase() see the first increment.
  for (const phase of PHASES) for (const outcome of OUTCOMES) counter('tasks_total').inc({ phase, outcome }, 0)
  const offs = listen(shutdown, { gauge, counter })

  const handle = registration(name, () => {
    for (const off of offs) off()
    for (const metric of metrics.keys()) registry.removeSingleMetric(metric)
    claim.release()
  })
  return { name: handle.name, registry, remove: handle.remove, [Symbol.dispose]: handle.remove }
}

/** Creates the metric in the registry; a metric with `read` is set from it at every scrape. */
function create(name: string, spec: MetricSpec, registry: Registry, shutdown: Shutdown): Gauge | Counter {
  const { read } = spec
  const collect =
    read === undefined
      ? undefined
      : () => {
          // The series of this scrape only: a source gone, or unreadable now, leaves none behind.
          metric.reset()
          for (const [labels, value] of read(shutdown))
            if (metric instanceof Gauge) metric.set(labels, value)
            else metric.inc(labels, value)
        }
  const config = { name, help: spec.help, labelNames: spec.labels ?? [], registers: [registry], collect }
  const metric: Gauge | Counter = spec.type === Gauge ? new Gauge(config) : new Counter(config)
  return metric
}

/** Keeps the event-driven metrics current; returns the listeners' removers. */
function listen(
  shutdown: Shutdown,
  {
    gauge,
    counter,
  }: {
    gauge: (name: keyof typeof COORDINATOR_METRICS) => Gauge
    counter: (name: keyof typeof COORDINATOR_METRICS) => Counter
  },
): (() => void)[] {
  const seconds = (ms: number) => ms / 1000
  let startedAt: number | undefined
  return [
    shutdown.on('trigger', ({ trigger, first, at }) => {
      counter('shutdown_triggers_total').inc({ trigger })
      if (first) {
        startedAt = at
        gauge('shutdown_start_time_seconds').set(seconds(at))
      }
    }),
    shutdown.on('taskEnd', (task) => {
      gauge('task_duration_seconds').set(
        { task: task.name, phase: task.phase, outcome: task.outcome },
        seconds(task.durationMs),
      )
      counter('tasks_total').inc({ phase: task.phase, outcome: task.outcome })
    }),
    shutdown.on('phaseEnd', (phase) => {
      gauge('phase_duration_seconds').set({ phase: phase.name }, seconds(phase.durationMs))
      // Kept current phase by phase, so a push in the report phase already carries them.
      const end = phase.start + phase.durationMs
      if (startedAt !== undefined) gauge('shutdown_duration_seconds').set(seconds(end - startedAt))
      if (shutdown.deadline !== undefined)
        gauge('shutdown_deadline_margin_seconds').set(seconds(shutdown.deadline - end))
    }),
    shutdown.on('startup', ({ state, tasks }) => {
      if (state === 'pending' || tasks.length === 0) return
      const start = Math.min(...tasks.map((t) => t.start))
      const end = Math.max(...tasks.map((t) => t.start + t.durationMs))
      gauge('startup_duration_seconds').set(seconds(end - start))
    }),
    shutdown.on('report', (report) => {
      gauge('shutdown_duration_seconds').set(seconds(report.durationMs))
      gauge('shutdown_deadline_margin_seconds').set(seconds(report.deadline - report.end))
    }),
  ]
}

/**
 * An adapter value as a count: a number, or the length of an array (e.g. the held locks). Anything else,
 * or a read that throws, is `undefined` — the series is left out of this scrape rather than failing it.
 */
function readCount(read: () => unknown): number | undefined {
  let value: unknown
  try {
    value = read()
  } catch {
    return undefined
  }
  const count = typeof value === 'number' ? value : Array.isArray(value) ? value.length : undefined
  return count !== undefined && count >= 0 && Number.isFinite(count) ? count : undefined
}
