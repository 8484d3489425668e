import { validateHeaderName, validateHeaderValue } from 'node:http'
import { constants } from 'node:os'
import { InvalidDurationError, InvalidOptionError, UnknownSignalError } from '@lameduck/core'
import {
  checkOptions,
  count,
  describeValue,
  oneOf,
  optionalFunction,
  optionalObject,
  optionalSignal,
  orDefault,
} from '@lameduck/core/adapter'
import { SIM_DEFAULTS as D, SIM_LIMITS } from './defaults.js'
import { parseDuration } from './duration.js'
import type { SimulationProgress } from './result.js'

/** A duration: ms as a number, or a suffixed string (`'500ms'`, `'8s'`). */
export type Duration = number | string

/**
 * Options of `simulateTermination`. Durations take ms or a suffixed string (`'500ms'`, `'8s'`). Every
 * default is in {@link SIM_DEFAULTS}.
 */
export interface SimulationOptions {
  /**
   * The service to run, as argv: `['node', 'server.js']`. Each replica gets `PORT`, `ADMIN_PORT` and what
   * Kubernetes sets in every container (`HOSTNAME`, `KUBERNETES_SERVICE_HOST`, … — see the README).
   */
  command: readonly string[]
  /**
   * Extra environment for both replicas, on top of the simulator's own and the pod's: what the pod spec's
   * `env` would set (`TERMINATION_GRACE_PERIOD_SECONDS`, `LAMEDUCK_SHUTDOWN_TOKEN`, …). Not `PORT`/`ADMIN_PORT`.
   */
  env?: Record<string, string>
  /** Concurrent keep-alive callers, 1 to 10,000. Default: {@link SIM_DEFAULTS}`.concurrency`. */
  concurrency?: number
  /** Mean pause of each caller between requests (uniformly 0–2× this), for bursty load. Default: {@link SIM_DEFAULTS}`.think`. */
  think?: Duration
  /**
   * Connection churn: each caller ends its connection with every `churn`-th request (`Connection: close`)
   * and opens a new one, which the proxy routes afresh — as load balancers and client pools that cap the
   * requests per connection do. `1` is a connection per request (no keep-alive). Default: none, keep-alive
   * for good (a caller reconnects only when the server ends its connection).
   */
  churn?: number
  /** Path of the load requests. Default: {@link SIM_DEFAULTS}`.path`. */
  path?: string
  /** Duration of the long requests pinned to replica A, in flight when termination starts. Default: none. */
  long?: Duration
  /** How many long requests, 1 to 10,000. Default: {@link SIM_DEFAULTS}`.longCount`. */
  longCount?: number
  /** Path of the long requests; `{ms}` is replaced by their duration. Default: {@link SIM_DEFAULTS}`.longPath`. */
  longPath?: string
  /**
   * WebSocket clients, 1 to 10,000, besides the HTTP load: each keeps a connection through the proxy, sends a
   * message every `wsInterval` that the service must echo back, and reconnects at once when the connection is
   * closed. Abnormal closes (1006), failed (re)connects and lost messages fail the run. Default: none.
   */
  ws?: number
  /** Path of the WebSocket connections. Default: {@link SIM_DEFAULTS}`.wsPath`. */
  wsPath?: string
  /** How often each WebSocket client sends a message. Default: {@link SIM_DEFAULTS}`.wsInterval`. */
  wsInterval?: Duration
  /** preStop httpGet path; none when omitted (the stop signal only). */
  preStop?: string
  /** Headers of the preStop request, e.g. `{ authorization: 'Bearer …' }`. */
  preStopHeaders?: Record<string, string>
  /**
   * Port of the preStop request: a number, `'port'` (the replica's PORT) or `'admin'` (its ADMIN_PORT).
   * Default: {@link SIM_DEFAULTS}`.preStopPort`.
   */
  preStopPort?: number | 'port' | 'admin'
  /**
   * Scheme of the preStop httpGet (the hook's `scheme`, lower case). `'https'` is not verified, as by the
   * kubelet; against a port that answers in plain HTTP it is retried over http **without** the
   * `Authorization` header, as the kubelet does. Default: {@link SIM_DEFAULTS}`.preStopScheme`.
   */
  preStopScheme?: 'http' | 'https'
  /**
   * A preStop `exec` hook instead of the httpGet one, as argv (the hook's `command`: no shell): run with
   * replica A's environment and working directory, counted against the grace period. Default: none.
   */
  preStopExec?: readonly string[]
  /** The kubelet's `<major>.<minor>`, in its hook's `User-Agent: kube-lifecycle/<version>`. Default: {@link SIM_DEFAULTS}`.kubeletVersion`. */
  kubeletVersion?: string
  /** Stop signal. Default: {@link SIM_DEFAULTS}`.signal`. */
  signal?: NodeJS.Signals
  /** terminationGracePeriodSeconds, preStop included. Default: {@link SIM_DEFAULTS}`.grace`. */
  grace?: Duration
  /** Time from termination start until replica A is removed from the proxy's choice. Default: {@link SIM_DEFAULTS}`.propagation`. */
  propagation?: Duration
  /** Load before termination starts. Default: {@link SIM_DEFAULTS}`.warmup`. */
  warmup?: Duration
  /** Load after A has exited and its endpoint is gone. Default: {@link SIM_DEFAULTS}`.tail`. */
  tail?: Duration
  /** How long a replica may take to listen (and, with `readinessPath`, to get ready). Default: {@link SIM_DEFAULTS}`.startupTimeout`. */
  startupTimeout?: Duration
  /**
   * A readinessProbe's httpGet path (`'/readyz'`): a replica is given traffic only once `GET <path>` on its
   * PORT answers 200, asked from when it listens until `startupTimeout`; one that never does fails the run
   * (`LAMEDUCK_ERR_SIM_NEVER_READY`). Default: none, traffic as soon as it listens.
   */
  readinessPath?: string
  /** A request taking longer than this counts as failed (`timeout`). Default: {@link SIM_DEFAULTS}`.requestTimeout`. */
  requestTimeout?: Duration
  /** Port of the proxy; 0 picks a free one. Default: {@link SIM_DEFAULTS}`.proxyPort`. */
  proxyPort?: number
  /** Aborts the simulation: everything is cleaned up and it rejects with `LAMEDUCK_ERR_SIM_ABORTED`. */
  signalAbort?: AbortSignal
  /** Called a few times a second with the counts so far. */
  onProgress?: (progress: SimulationProgress) => void
}

/** Every key of `SimulationOptions`: anything else is refused with a "did you mean". */
export const SIMULATION_OPTIONS = [
  'command',
  'env',
  'concurrency',
  'think',
  'churn',
  'path',
  'long',
  'longCount',
  'longPath',
  'ws',
  'wsPath',
  'wsInterval',
  'preStop',
  'preStopHeaders',
  'preStopPort',
  'preStopScheme',
  'preStopExec',
  'kubeletVersion',
  'signal',
  'grace',
  'propagation',
  'warmup',
  'tail',
  'startupTimeout',
  'readinessPath',
  'requestTimeout',
  'proxyPort',
  'signalAbort',
  'onProgress',
] as const satisfies readonly (keyof SimulationOptions)[]

/** The environment variables the simulator gives each replica itself: `env` cannot set them. */
const ASSIGNED = ['PORT', 'ADMIN_PORT']

export type ResolvedOptions = ReturnType<typeof resolveOptions>

/**
 * Validates the options and fills in the defaults, before anything starts, with the adapter kit's
 * validators: `undefined` means the default; `null` and every other wrong type is refused. Wrong durations
 * throw `InvalidDurationError`, a stop signal the platform does not know `UnknownSignalError`, every other
 * wrong value `InvalidOptionError`, an unknown key `UnknownOptionError` (all from `@lameduck/core`).
 */
export function resolveOptions(options: SimulationOptions) {
  if (options === undefined) throw new InvalidOptionError('simulateTermination options', 'expected an options object')
  checkOptions('simulateTermination', options, SIMULATION_OPTIONS)
  optionalSignal('signalAbort', options.signalAbort)
  optionalFunction('onProgress', options.onProgress)
  const preStopExec = options.preStopExec === undefined ? undefined : hookCommand(options.preStopExec)
  if (preStopExec) {
    // A container has one preStop handler: the httpGet's own settings would be silently ignored.
    for (const key of ['preStop', 'preStopHeaders', 'preStopScheme'] as const)
      if (options[key] !== undefined && !(key === 'preStopHeaders' && isEmpty(options[key])))
        throw new InvalidOptionError(
          key,
          `a container has one preStop handler, exec (preStopExec) or httpGet (preStop${key === 'preStop' ? '' : `, with ${key}`}): not both`,
        )
  }
  return {
    command: command(options.command),
    env: env(options.env),
    concurrency: callers('concurrency', options.concurrency, D.concurrency),
    thinkMs: parseDuration('think', orDefault(options.think, D.think)),
    // None: keep-alive for good.
    churn: options.churn === undefined ? null : count('churn', options.churn, undefined, { min: 1 }),
    path: path('path', orDefault(options.path, D.path)),
    // No long requests unless asked for: 0 ms is none.
    longMs: options.long === undefined ? 0 : parseDuration('long', options.long),
    longCount: callers('longCount', options.longCount, D.longCount),
    longPath: path('longPath', orDefault(options.longPath, D.longPath)),
    // None unless asked for.
    ws: options.ws === undefined ? 0 : callers('ws', options.ws, undefined),
    wsPath: path('wsPath', orDefault(options.wsPath, D.wsPath)),
    wsIntervalMs: positive('wsInterval', parseDuration('wsInterval', orDefault(options.wsInterval, D.wsInterval))),
    preStop: options.preStop === undefined ? undefined : path('preStop', options.preStop),
    preStopHeaders: headers(options.preStopHeaders),
    preStopPort: preStopPort(orDefault<unknown>(options.preStopPort, D.preStopPort)),
    preStopScheme: oneOf('preStopScheme', options.preStopScheme, ['http', 'https'], D.preStopScheme),
    preStopExec,
    kubeletVersion: kubeletVersion(orDefault<unknown>(options.kubeletVersion, D.kubeletVersion)),
    signal: stopSignal(orDefault<unknown>(options.signal, D.signal)),
    graceMs: parseDuration('grace', orDefault(options.grace, D.grace)),
    propagationMs: parseDuration('propagation', orDefault(options.propagation, D.propagation)),
    warmupMs: parseDuration('warmup', orDefault(options.warmup, D.warmup)),
    tailMs: parseDuration('tail', orDefault(options.tail, D.tail)),
    startupTimeoutMs: parseDuration('startupTimeout', orDefault(options.startupTimeout, D.startupTimeout)),
    // None: a replica gets traffic once it listens.
    readinessPath: options.readinessPath === undefined ? undefined : path('readinessPath', options.readinessPath),
    requestTimeoutMs: parseDuration('requestTimeout', orDefault(options.requestTimeout, D.requestTimeout)),
    proxyPort: port('proxyPort', options.proxyPort, D.proxyPort, 0),
  }
}

function command(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((part) => typeof part === 'string' && part !== ''))
    throw new InvalidOptionError(
      'command',
      `expected the service command line as an array of strings, e.g. ["node", "server.js"]; got ${describeValue(value)}`,
    )
  return value
}

/** An exec hook's argv: what the kubelet runs, with no shell in between. */
function hookCommand(value: unknown): readonly string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((part) => typeof part === 'string') ||
    value[0] === ''
  )
    throw new InvalidOptionError(
      'preStopExec',
      `expected the hook's command as an array of strings, e.g. ["node", "prestop.mjs"] (no shell); got ${describeValue(value)}`,
    )
  return value
}

function isEmpty(value: unknown): boolean {
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0
}

function kubeletVersion(value: unknown): string {
  if (typeof value !== 'string' || !/^[1-9]\d*\.\d+$/.test(value))
    throw new InvalidOptionError(
      'kubeletVersion',
      `expected the kubelet's <major>.<minor>, e.g. "1.31"; got ${describeValue(value)}`,
    )
  return value
}

/** A duration that cannot be 0 (a message every 0 ms would be a busy loop). */
function positive(option: string, ms: number): number {
  if (ms === 0) throw new InvalidDurationError(option, ms, 'greater than 0 ms')
  return ms
}

function callers(option: string, value: unknown, fallback: number | undefined): number {
  return count(option, value, fallback, { min: 1, max: SIM_LIMITS.maxCallers })
}

/** A TCP port from `min` (0: any free one) to 65535. */
function port(option: string, value: unknown, fallback: number | undefined, min: number): number {
  return count(option, value, fallback, { min, max: 65_535 })
}

function preStopPort(value: unknown): number | 'port' | 'admin' {
  return typeof value === 'string'
    ? oneOf('preStopPort', value, ['port', 'admin'])
    : port('preStopPort', value, undefined, 1)
}

function stopSignal(value: unknown): NodeJS.Signals {
  if (typeof value !== 'string')
    throw new InvalidOptionError('signal', `expected a signal name; got ${describeValue(value)}`)
  // A name this platform does not know would never reach the service: refused before anything starts, with
  // the code core gives an unknown signal in `signals`.
  if (!Object.hasOwn(constants.signals, value))
    throw new UnknownSignalError(
      value,
      'not a signal this platform knows: as the stop signal it would never reach the service (use a name like SIGTERM, SIGINT or SIGQUIT)',
    )
  return value as NodeJS.Signals
}

function path(option: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s\0]/.test(value))
    throw new InvalidOptionError(
      option,
      `expected a path starting with / and without spaces; got ${describeValue(value)}`,
    )
  return value
}

/** An object of strings (empty ones included: `KUBERNETES_SERVICE_HOST=` is a thing), `{}` when left out. */
function strings(option: string, value: unknown): Record<string, string> {
  const record = optionalObject(option, value as Record<string, unknown> | undefined) ?? {}
  for (const [key, item] of Object.entries(record))
    if (typeof item !== 'string')
      throw new InvalidOptionError(`${option}.${key}`, `expected a string; got ${describeValue(item)}`)
  return record as Record<string, string>
}

function env(value: unknown): Record<string, string> {
  const vars = strings('env', value)
  for (const key of Object.keys(vars)) {
    if (key === '' || key.includes('=') || key.includes('\0'))
      throw new InvalidOptionError('env', `not an environment variable name: ${describeValue(key)}`)
    if (ASSIGNED.includes(key))
      throw new InvalidOptionError(`env.${key}`, `the simulator gives each replica its own ${key}; it cannot be set`)
  }
  return vars
}

function headers(value: unknown): Record<string, string> {
  // Checked here, not when the hook is sent halfway through the run: Node refuses such headers at request time.
  const result: Record<string, string> = {}
  for (const [name, item] of Object.entries(strings('preStopHeaders', value))) {
    try {
      validateHeaderName(name)
      validateHeaderValue(name, item)
    } catch (error) {
      throw new InvalidOptionError(`preStopHeaders.${name}`, (error as Error).message)
    }
    result[name.toLowerCase()] = item
  }
  return result
}
