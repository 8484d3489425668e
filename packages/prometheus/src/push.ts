import { InvalidOptionError, type Phase, type Registration, type Shutdown } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  count,
  describeValue,
  duration,
  nonEmptyString,
  oneOf,
  optionalObject,
  registerTask,
  requireShutdown,
  shared,
  sleep,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { Pushgateway, type Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'
import { PushFailedError } from './errors.js'
import { registryOption } from './registry.js'

/** The options of `pushOnShutdown`; every default is in {@link PROMETHEUS_DEFAULTS}`.push`. */
export interface PushOptions extends AdapterTaskOptions {
  /** Pushgateway base URL, e.g. `http://pushgateway:9091`. */
  url: string
  /** Job label of the push. */
  job: string
  /** Further grouping labels, e.g. `{ instance: process.env.HOSTNAME }` — one group per pod. */
  groupings?: Record<string, string>
  /** The registry pushed. Default: prom-client's global registry. */
  registry?: Registry
  /**
   * `POST` replaces only the metrics pushed (pushAdd); `PUT` replaces the whole group.
   * Default: {@link PROMETHEUS_DEFAULTS}`.push.method`.
   */
  method?: 'POST' | 'PUT'
  /** Budget of the push task, retries included. Default: {@link PROMETHEUS_DEFAULTS}`.push.timeoutMs`. */
  timeoutMs?: number
  /**
   * Attempts after the first, within the budget (`Infinity`: until it runs out).
   * Default: {@link PROMETHEUS_DEFAULTS}`.push.retries`.
   */
  retries?: number
  /** Delay before the first retry, doubling at each one. Default: {@link PROMETHEUS_DEFAULTS}`.push.retryDelayMs`. */
  retryDelayMs?: number
  /** Whether a failed push makes the exit code non-zero. Default: {@link PROMETHEUS_DEFAULTS}`.push.critical`. */
  critical?: boolean
  /**
   * Task name. Default: {@link PROMETHEUS_DEFAULTS}`.push.name`, numbered when taken (`prometheus-push-2`);
   * a name you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** When the push runs. Default: {@link PROMETHEUS_DEFAULTS}`.push.phase`, after every other phase. */
  phase?: Phase
}

const WHERE = 'pushOnShutdown'
export const PUSH_OPTIONS = [
  ...TASK_OPTION_KEYS,
  ...['url', 'job', 'groupings', 'registry', 'method', 'retries', 'retryDelayMs'],
]

// One object per registry and push target (gateway, job, grouping), shared by the ESM and CommonJS copies:
// the resource the kit's duplicate check holds, so that the same push registered twice on one coordinator
// throws DuplicateRegistrationError, while one registry pushed to two gateways is two pushes.
const targets = () => shared('prometheus:push-targets', () => new WeakMap<object, Map<string, object>>())

function target(registry: Registry, key: string): object {
  const byKey = targets().get(registry) ?? new Map<string, object>()
  targets().set(registry, byKey)
  const found = byKey.get(key) ?? {}
  byKey.set(key, found)
  return found
}

/**
 * Pushes the registry to a Prometheus Pushgateway in the `report` phase, through prom-client's
 * `Pushgateway`: the shutdown's own metrics are the ones a scrape never sees, because the pod is gone.
 * Retries a few times within its budget, timed by the coordinator's clock; a Pushgateway that is down or
 * hangs is reported (`PushFailedError`) and never holds the exit (non-critical by default). Returns the
 * task's {@link Registration}.
 */
export function pushOnShutdown(shutdown: Shutdown, options: PushOptions): Registration {
  requireShutdown(WHERE, shutdown, 'pushOnShutdown(shutdown, { url, job, ... })')
  if (options === undefined)
    throw new InvalidOptionError(`options of ${WHERE}`, 'expected { url, job } at least; got undefined')
  checkOptions(WHERE, options, PUSH_OPTIONS)
  const d = PROMETHEUS_DEFAULTS.push
  if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url))
    throw new InvalidOptionError(
      `url of ${WHERE}`,
      `expected the Pushgateway URL, e.g. http://pushgateway:9091; got ${describeValue(options.url)}`,
    )
  const { url } = options
  const job = nonEmptyString(`job of ${WHERE}`, options.job)
  const groupings = optionalObject(`groupings of ${WHERE}`, options.groupings)
  for (const [label, value] of Object.entries(groupings ?? {}))
    if (typeof value !== 'string')
      throw new InvalidOptionError(
        `groupings.${label} of ${WHERE}`,
        `expected a string label value; got ${describeValue(value)}`,
      )
  const method = oneOf(`method of ${WHERE}`, options.method, ['POST', 'PUT'] as const, d.method)
  // Infinity: retry until the budget runs out.
  const retries = count(`retries of ${WHERE}`, options.retries, d.retries, { infinite: true })
  const retryDelayMs = duration(`retryDelayMs of ${WHERE}`, options.retryDelayMs, d.retryDelayMs)
  const task = taskOptions(WHERE, options, d)
  const registry = registryOption(WHERE, options.registry)
  const sortedGroupings = Object.entries(groupings ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))
  const params = { jobName: job, ...(groupings === undefined ? {} : { groupings }) }

  const registration = registerTask(shutdown, {
    where: WHERE,
    task,
    resource: target(registry, JSON.stringify([url, job, sortedGroupings])),
    resourceLabel: `the push of this registry to ${url} (job "${job}"${sortedGroupings.length > 0 ? ', same groupings' : ''})`,
    run: async (signal, context) => {
      const { clock } = context
      // Each attempt and each wait stops marginMs before the deadline, so the task can still say what happened.
      const left = () => context.deadline - d.marginMs - clock.now()
      let lastError: unknown
      let attempts = 0
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (left() <= 0 || signal.aborted) break
        const gateway = new Pushgateway(url, { timeout: left(), signal }, registry)
        attempts++
        try {
          await (method === 'PUT' ? gateway.push(params) : gateway.pushAdd(params))
          shutdown.logger.info(
            { event: 'prometheus.pushed', url, job, attempt: attempts },
            `${registration.name}: metrics pushed to ${url}`,
          )
          return
        } catch (error) {
          lastError = error
          if (attempt < retries) await sleep(Math.min(retryDelayMs * 2 ** attempt, left()), { clock, signal })
        }
      }
      throw new PushFailedError(registration.name, url, attempts, { cause: lastError })
    },
  })
  return registration
}
