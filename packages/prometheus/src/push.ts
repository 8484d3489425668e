import {
  checkOptions,
  describeValue,
  InvalidOptionError,
  LameduckError,
  type Registration,
  requireDuration,
  type Shutdown,
} from '@lameduck/core'
import { register as defaultRegistry, Pushgateway, type Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'
import {
  boolean,
  isPlainObject,
  nonEmptyString,
  orDefault,
  registry as requireRegistry,
  requireShutdown,
} from './validate.js'

export interface PushOptions {
  /** Pushgateway base URL, e.g. `http://pushgateway:9091`. */
  url: string
  /** Job label of the push. */
  job: string
  /** Further grouping labels, e.g. `{ instance: process.env.HOSTNAME }` — one group per pod. */
  groupings?: Record<string, string>
  /** Default: prom-client's global registry. */
  registry?: Registry
  /** `POST` replaces only the metrics pushed (pushAdd); `PUT` replaces the whole group. Default: `POST`. */
  method?: 'POST' | 'PUT'
  /** Budget of the push task, retries included. Default: 2000. */
  timeoutMs?: number
  /** Attempts after the first, within the budget. Default: 2. */
  retries?: number
  /** Whether a failed push makes the exit code non-zero. Default: `false`. */
  critical?: boolean
  /** Task name. Default: `prometheus-push`. */
  name?: string
}

const PUSH_OPTIONS: readonly (keyof PushOptions)[] = [
  'url',
  'job',
  'groupings',
  'registry',
  'method',
  'timeoutMs',
  'retries',
  'critical',
  'name',
]

/**
 * Pushes the registry to a Prometheus Pushgateway in the `report` phase, through prom-client's
 * `Pushgateway`: the shutdown's own metrics are the ones a scrape never sees, because the pod is gone.
 * Retries a few times within its budget; a Pushgateway that is down or hangs is reported, and never
 * holds the exit (non-critical by default).
 */
export function pushOnShutdown(shutdown: Shutdown, options: PushOptions): Registration {
  requireShutdown('pushOnShutdown', shutdown)
  if (options === undefined)
    throw new InvalidOptionError('options of pushOnShutdown', 'expected { url, job } at least; got undefined')
  checkOptions('pushOnShutdown', options, PUSH_OPTIONS)
  if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url))
    throw new InvalidOptionError(
      'url of pushOnShutdown',
      `expected the Pushgateway URL, e.g. http://pushgateway:9091; got ${describeValue(options.url)}`,
    )
  const job = nonEmptyString('job of pushOnShutdown', options.job)
  if (options.groupings !== undefined) {
    if (!isPlainObject(options.groupings))
      throw new InvalidOptionError(
        'groupings of pushOnShutdown',
        `expected an object of label values, e.g. { instance: process.env.HOSTNAME }; got ${describeValue(options.groupings)}`,
      )
    for (const [label, value] of Object.entries(options.groupings))
      if (typeof value !== 'string')
        throw new InvalidOptionError(
          `groupings.${label} of pushOnShutdown`,
          `expected a string label value; got ${describeValue(value)}`,
        )
  }
  const method = orDefault(options.method, PROMETHEUS_DEFAULTS.pushMethod)
  if (method !== 'POST' && method !== 'PUT')
    throw new InvalidOptionError('method of pushOnShutdown', `expected 'POST' or 'PUT'; got ${describeValue(method)}`)
  const retries = orDefault(options.retries, PROMETHEUS_DEFAULTS.pushRetries)
  if (typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0)
    throw new InvalidOptionError(
      'retries of pushOnShutdown',
      `expected a whole number of attempts after the first (0 or more); got ${describeValue(retries)}`,
    )
  const timeoutMs = requireDuration(
    'timeoutMs of pushOnShutdown',
    orDefault(options.timeoutMs, PROMETHEUS_DEFAULTS.pushTimeoutMs),
  )
  const critical = boolean('critical of pushOnShutdown', orDefault(options.critical, PROMETHEUS_DEFAULTS.pushCritical))
  const registry = requireRegistry('registry of pushOnShutdown', orDefault(options.registry, defaultRegistry))
  const name = nonEmptyString('name of pushOnShutdown', orDefault(options.name, PROMETHEUS_DEFAULTS.pushTaskName))

  return shutdown.addTask({
    name,
    phase: 'report',
    timeoutMs,
    critical,
    run: async (signal, context) => {
      let lastError: unknown
      for (let attempt = 0; attempt <= retries; attempt++) {
        // Leave room to say what happened before the task's own deadline.
        const left = context.remainingMs() - 20
        if (left <= 0 || signal.aborted) break
        const gateway = new Pushgateway(options.url, { timeout: left, signal }, registry)
        const params = { jobName: job, groupings: options.groupings }
        try {
          await (method === 'PUT' ? gateway.push(params) : gateway.pushAdd(params))
          shutdown.logger.info(
            { event: 'prometheus.pushed', url: options.url, job, attempt: attempt + 1 },
            `${name}: metrics pushed to ${options.url}`,
          )
          return
        } catch (error) {
          lastError = error
          if (attempt < retries)
            await sleep(PROMETHEUS_DEFAULTS.pushRetryDelayMs * 2 ** attempt, context.remainingMs() - 20)
        }
      }
      throw new LameduckError(
        'LAMEDUCK_ERR_PUSH_FAILED',
        `${name}: could not push to ${options.url}: ${lastError instanceof Error ? lastError.message : String(lastError ?? 'no time left')}`,
        { cause: lastError },
      )
    },
  })
}

function sleep(ms: number, limit: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(ms, limit))))
}
