import { InvalidOptionError, LameduckError, type Shutdown } from '@lameduck/core'
import { register as defaultRegistry, Pushgateway, type Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'

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

/**
 * Pushes the registry to a Prometheus Pushgateway in the `report` phase, through prom-client's
 * `Pushgateway`: the shutdown's own metrics are the ones a scrape never sees, because the pod is gone.
 * Retries a few times within its budget; a Pushgateway that is down or hangs is reported, and never
 * holds the exit (non-critical by default).
 */
export function pushOnShutdown(shutdown: Shutdown, options: PushOptions): () => void {
  if (!options || typeof options.url !== 'string' || !/^https?:\/\//.test(options.url))
    throw new InvalidOptionError('url', 'expected the Pushgateway URL, e.g. http://pushgateway:9091')
  if (typeof options.job !== 'string' || options.job === '')
    throw new InvalidOptionError('job', 'expected a non-empty job name')
  const method = options.method ?? PROMETHEUS_DEFAULTS.pushMethod
  if (method !== 'POST' && method !== 'PUT') throw new InvalidOptionError('method', 'expected POST or PUT')
  const retries = options.retries ?? PROMETHEUS_DEFAULTS.pushRetries
  if (!Number.isInteger(retries) || retries < 0) throw new InvalidOptionError('retries', 'expected a whole number')
  const registry = options.registry ?? defaultRegistry
  const name = options.name ?? 'prometheus-push'

  return shutdown.addTask({
    name,
    phase: 'report',
    timeoutMs: options.timeoutMs ?? PROMETHEUS_DEFAULTS.pushTimeoutMs,
    critical: options.critical ?? false,
    run: async (signal, context) => {
      let lastError: unknown
      for (let attempt = 0; attempt <= retries; attempt++) {
        // Leave room to say what happened before the task's own deadline.
        const left = context.remainingMs() - 20
        if (left <= 0 || signal.aborted) break
        const gateway = new Pushgateway(options.url, { timeout: left, signal }, registry)
        const params = { jobName: options.job, groupings: options.groupings }
        try {
          await (method === 'PUT' ? gateway.push(params) : gateway.pushAdd(params))
          shutdown.logger.info(
            { event: 'prometheus.pushed', url: options.url, job: options.job, attempt: attempt + 1 },
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
