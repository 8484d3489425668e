import {
  checkOptions,
  describeValue,
  EXIT_CODES,
  InvalidOptionError,
  PHASES,
  type Shutdown,
  type ShutdownState,
} from '@lameduck/core'
import { Counter, register as defaultRegistry, Gauge, type Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'
import { checkSources, type Sources } from './sources.js'
import { orDefault, registry as requireRegistry, requireShutdown } from './validate.js'

export interface InstrumentOptions extends Sources {
  /** Registry to register the metrics in. Default: prom-client's global registry. */
  registry?: Registry
  /** Metric name prefix. Default: `lameduck_`. */
  prefix?: string
}

export interface Instrumentation {
  readonly registry: Registry
  /** Removes lameduck's metrics from the registry and stops listening. */
  remove(): void
}

const STATES: ShutdownState[] = ['running', 'draining', 'stopping', 'stopped']
const INSTRUMENT_OPTIONS: readonly (keyof InstrumentOptions)[] = ['registry', 'prefix', 'http', 'caches', 'locks']

/**
 * Registers lameduck's metrics (see the README for the list) and keeps them current from the
 * coordinator's events; adapter metrics are read at scrape time from the objects in `http`, `caches`
 * and `locks`.
 */
export function instrument(shutdown: Shutdown, options: InstrumentOptions = {}): Instrumentation {
  requireShutdown('instrument', shutdown)
  checkOptions('instrument', options, INSTRUMENT_OPTIONS)
  const registry = requireRegistry('registry of instrument', orDefault(options.registry, defaultRegistry))
  const prefix = orDefault(options.prefix, PROMETHEUS_DEFAULTS.prefix)
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new InvalidOptionError(
      'prefix of instrument',
      `expected a metric name prefix (letters, digits, _ and :, not starting with a digit); got ${describeValue(prefix)}`,
    )
  checkSources('instrument', options)
  const registers = [registry]
  const names: string[] = []
  const add = <M>(name: string, metric: (name: string) => M): M => {
    names.push(name)
    return metric(name)
  }

  add(
    `${prefix}state`,
    (name) =>
      new Gauge({
        name,
        help: 'Coordinator state: 1 for the current one of running, draining, stopping, stopped.',
        labelNames: ['state'],
        registers,
        collect() {
          for (const state of STATES) this.set({ state }, shutdown.state === state ? 1 : 0)
        },
      }),
  )
  add(
    `${prefix}ready`,
    (name) =>
      new Gauge({
        name,
        help: '1 while the service accepts new work (readiness), 0 from the first shutdown trigger on.',
        registers,
        collect() {
          this.set(shutdown.isReady() ? 1 : 0)
        },
      }),
  )
  const triggers = add(
    `${prefix}shutdown_triggers_total`,
    (name) =>
      new Counter({
        name,
        help: 'Shutdown triggers received, by kind (signal, http, manual, fatal, dispose); later ones join the first run.',
        labelNames: ['trigger'],
        registers,
      }),
  )
  const started = add(
    `${prefix}shutdown_start_time_seconds`,
    (name) =>
      new Gauge({
        name,
        help: 'Unix time of the first shutdown trigger.',
        registers,
      }),
  )
  const duration = add(
    `${prefix}shutdown_duration_seconds`,
    (name) =>
      new Gauge({
        name,
        help: 'Time from the first trigger to the end of the last finished phase.',
        registers,
      }),
  )
  const margin = add(
    `${prefix}shutdown_deadline_margin_seconds`,
    (name) =>
      new Gauge({
        name,
        help: 'Time left before the deadline when the last finished phase ended; near 0 means the budgets are too tight.',
        registers,
      }),
  )
  const exitCode = add(
    `${prefix}shutdown_exit_code`,
    (name) =>
      new Gauge({
        name,
        help: 'Exit code of the shutdown (0: every critical task succeeded so far), kept current as tasks end; final after the report phase.',
        registers,
      }),
  )
  const taskDuration = add(
    `${prefix}task_duration_seconds`,
    (name) =>
      new Gauge({
        name,
        help: 'How long each shutdown task ran, by task, phase and outcome (ok, error, timeout, skipped).',
        labelNames: ['task', 'phase', 'outcome'],
        registers,
      }),
  )
  const tasks = add(
    `${prefix}tasks_total`,
    (name) =>
      new Counter({
        name,
        help: 'Shutdown tasks finished, by phase and outcome.',
        labelNames: ['phase', 'outcome'],
        registers,
      }),
  )
  const phaseDuration = add(
    `${prefix}phase_duration_seconds`,
    (name) =>
      new Gauge({
        name,
        help: 'How long each shutdown phase ran.',
        labelNames: ['phase'],
        registers,
      }),
  )
  // Zero-initialised so that rate() and increase() see the first increment.
  for (const phase of PHASES)
    for (const outcome of ['ok', 'error', 'timeout', 'skipped']) tasks.inc({ phase, outcome }, 0)

  if (options.http && Object.keys(options.http).length > 0) {
    const http = options.http
    add(
      `${prefix}http_open_connections`,
      (name) =>
        new Gauge({
          name,
          help: 'Open HTTP connections (HTTP/1 sockets and HTTP/2 sessions), by server.',
          labelNames: ['server'],
          registers,
          collect() {
            this.reset()
            for (const [server, source] of Object.entries(http)) setTo(this, { server }, () => source.connections())
          },
        }),
    )
    add(
      `${prefix}http_requests_in_flight`,
      (name) =>
        new Gauge({
          name,
          help: 'HTTP requests in flight, by server.',
          labelNames: ['server'],
          registers,
          collect() {
            this.reset()
            for (const [server, source] of Object.entries(http)) setTo(this, { server }, () => source.inFlight())
          },
        }),
    )
    add(
      `${prefix}http_forced_closes_total`,
      (name) =>
        new Counter({
          name,
          help: 'Connections force-closed at the drain deadline, by server (0 until the drain ran).',
          labelNames: ['server'],
          registers,
          collect() {
            // The drain keeps the running total: expose it as is (it only grows).
            this.reset()
            for (const [server, source] of Object.entries(http))
              incBy(this, { server }, () => source.stats?.forced ?? 0)
          },
        }),
    )
  }
  if (options.caches && options.caches.length > 0) {
    const caches = options.caches
    add(
      `${prefix}cache_dirty_entries`,
      (name) =>
        new Gauge({
          name,
          help: 'Write-behind cache entries not yet written to their sink, by cache.',
          labelNames: ['cache'],
          registers,
          collect() {
            this.reset()
            for (const cache of caches) setTo(this, { cache: cache.name }, () => cache.dirty)
          },
        }),
    )
    add(
      `${prefix}cache_flushed_entries_total`,
      (name) =>
        new Counter({
          name,
          help: 'Entries written to the sink since start, by cache.',
          labelNames: ['cache'],
          registers,
          collect() {
            this.reset()
            for (const cache of caches) incBy(this, { cache: cache.name }, () => cache.stats().flushed)
          },
        }),
    )
    add(
      `${prefix}cache_failed_writes_total`,
      (name) =>
        new Counter({
          name,
          help: 'Failed sink writes since start (each retried), by cache.',
          labelNames: ['cache'],
          registers,
          collect() {
            this.reset()
            for (const cache of caches) incBy(this, { cache: cache.name }, () => cache.stats().failedWrites)
          },
        }),
    )
  }
  if (options.locks && Object.keys(options.locks).length > 0) {
    const locks = options.locks
    add(
      `${prefix}locks_held`,
      (name) =>
        new Gauge({
          name,
          help: 'Distributed locks held, by store.',
          labelNames: ['store'],
          registers,
          collect() {
            this.reset()
            // held() is a number (@lameduck/redis) or the held locks themselves (@lameduck/pg).
            for (const [store, source] of Object.entries(locks)) setTo(this, { store }, () => source.held())
          },
        }),
    )
  }

  const seconds = (ms: number) => ms / 1000
  let startedAt: number | undefined
  // Core's rule (exitCodeFor), kept current as the run goes: the report event comes after the report
  // phase, too late for a push made in it.
  let fatal = false
  let criticalFailed = false
  const updateExitCode = () => exitCode.set(fatal || criticalFailed ? EXIT_CODES.failed : EXIT_CODES.ok)
  const offs = [
    shutdown.on('trigger', ({ trigger, first, at }) => {
      triggers.inc({ trigger })
      if (first) {
        startedAt = at
        started.set(seconds(at))
        // Only the trigger that started the run counts: a fatal error joining it later does not.
        fatal = trigger === 'fatal'
        updateExitCode()
      }
    }),
    shutdown.on('taskEnd', (task) => {
      taskDuration.set({ task: task.name, phase: task.phase, outcome: task.outcome }, seconds(task.durationMs))
      tasks.inc({ phase: task.phase, outcome: task.outcome })
      if (task.critical && task.outcome !== 'ok') {
        criticalFailed = true
        updateExitCode()
      }
    }),
    shutdown.on('phaseEnd', (phase) => {
      phaseDuration.set({ phase: phase.name }, seconds(phase.durationMs))
      // Kept current phase by phase, so a push in the report phase already carries them.
      const end = phase.start + phase.durationMs
      if (startedAt !== undefined) duration.set(seconds(end - startedAt))
      if (shutdown.deadline !== undefined) margin.set(seconds(shutdown.deadline - end))
    }),
    shutdown.on('report', (report) => {
      duration.set(seconds(report.durationMs))
      margin.set(seconds(report.deadline - report.end))
      exitCode.set(report.exitCode)
    }),
  ]

  return {
    registry,
    remove() {
      for (const off of offs) off()
      for (const name of names) registry.removeSingleMetric(name)
    },
  }
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

function setTo<L extends string>(gauge: Gauge<L>, labels: Partial<Record<L, string>>, read: () => unknown): void {
  const count = readCount(read)
  if (count !== undefined) gauge.set(labels, count)
}

/** Sets a freshly reset counter to the adapter's running total. */
function incBy<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, read: () => unknown): void {
  const count = readCount(read)
  if (count !== undefined) counter.inc(labels, count)
}
