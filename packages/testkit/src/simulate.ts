import { type ChildProcess, fork } from 'node:child_process'
import { constants } from 'node:os'
import { InvalidOptionError } from '@lameduck/core'
import { SIM_DEFAULTS as D } from './defaults.js'
import { parseDuration } from './duration.js'
import { SimulatorError } from './errors.js'
import { type PreStopResult, terminate } from './kubelet.js'
import { type LoadCounts, record, send } from './load.js'
import type { FromWorker, ToWorker } from './load-worker.js'
import { freePorts } from './ports.js'
import type { ToReaper } from './reaper.js'
import { Replica } from './replica.js'
import workerPath from './worker-path.cjs'

/** A duration: ms as a number, or a suffixed string (`'500ms'`, `'8s'`). */
export type Duration = number | string

/** Options of {@link simulateTermination}. Durations take ms or a suffixed string (`'500ms'`, `'8s'`). */
export interface SimulationOptions {
  /** The service to run, as argv: `['node', 'server.js']`. Each replica gets `PORT` and `ADMIN_PORT`. */
  command: readonly string[]
  /** Extra environment for both replicas, on top of the simulator's own. */
  env?: Record<string, string>
  /** Concurrent keep-alive callers. Default: 64. */
  concurrency?: number
  /** Mean pause of each caller between requests (uniformly 0–2× this), for bursty load. Default: 0. */
  think?: Duration
  /** Path of the load requests. Default: `/`. */
  path?: string
  /** Duration of the long requests pinned to replica A, in flight when termination starts. Default: none. */
  long?: Duration
  /** How many long requests. Default: 4. */
  longCount?: number
  /** Path of the long requests; `{ms}` is replaced by their duration. Default: `/slow?ms={ms}`. */
  longPath?: string
  /** preStop httpGet path; none when omitted (SIGTERM only). */
  preStop?: string
  /** Headers of the preStop request, e.g. `{ authorization: 'Bearer …' }`. */
  preStopHeaders?: Record<string, string>
  /** Port of the preStop request: a number, `'port'` (the replica's PORT) or `'admin'` (its ADMIN_PORT). Default: `'port'`. */
  preStopPort?: number | 'port' | 'admin'
  /** Stop signal. Default: `SIGTERM`. */
  signal?: NodeJS.Signals
  /** terminationGracePeriodSeconds, preStop included. Default: 30s. */
  grace?: Duration
  /** Time from termination start until replica A is removed from the proxy's choice. Default: 1s. */
  propagation?: Duration
  /** Load before termination starts. Default: 1s. */
  warmup?: Duration
  /** Load after A has exited and its endpoint is gone. Default: 500ms. */
  tail?: Duration
  /** How long a replica may take to listen. Default: 10s. */
  startupTimeout?: Duration
  /** A request taking longer than this counts as failed (`timeout`). Default: 10s. */
  requestTimeout?: Duration
  /** Port of the proxy; 0 picks a free one. Default: 0. */
  proxyPort?: number
  /** Aborts the simulation: everything is cleaned up and it rejects with `LAMEDUCK_ERR_SIM_ABORTED`. */
  signalAbort?: AbortSignal
  /** Called about every 250 ms with the counts so far. */
  onProgress?: (progress: SimulationProgress) => void
}

export interface SimulationProgress {
  elapsedMs: number
  stage: 'warmup' | 'terminating' | 'tail'
  requests: number
  failed: number
  requestsPerSecond: number
}

/** What happened. `failed` is every failed request, load and long ones together. */
export interface SimulationResult {
  /** No failed request and no SIGKILL. */
  passed: boolean
  requests: number
  ok: number
  failed: number
  /** Failed requests by kind: `ECONNRESET`, `ECONNREFUSED`, `HTTP 503`, `timeout`, … */
  failures: Record<string, number>
  /** Load-request throughput over the whole run. */
  requestsPerSecond: number
  load: LoadCounts
  long: LoadCounts & { durationMs: number }
  preStop: PreStopResult | null
  signal: NodeJS.Signals
  /** ms from termination start to the stop signal (the preStop time). */
  signalAtMs: number
  /** ms from termination start to replica A's exit. */
  terminationToExitMs: number
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  sigkill: boolean
  /**
   * Replica A's lameduck coordinator as its report tells it (from the preStop response body, else from its
   * JSON `report` log line), or `null` for a service that does not use lameduck or logs otherwise.
   * `triggeredAtMs` is how long the termination took to reach the service (under heavy load the preStop
   * request waits in the accept queue of a saturated event loop); `terminationToExitMs − triggeredAtMs` is
   * what the service itself took.
   */
  lameduck: LameduckTimeline | null
  /** Replica A's last output lines. */
  lastOutput: string[]
  durationMs: number
  config: {
    concurrency: number
    thinkMs: number
    path: string
    graceMs: number
    propagationMs: number
    warmupMs: number
    tailMs: number
  }
}

/** When replica A's coordinator was triggered and finished, in ms from termination start. */
export interface LameduckTimeline {
  triggeredAtMs: number
  finishedAtMs: number
  exitCode: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs two replicas of a service behind a kube-proxy-like proxy under keep-alive load, terminates
 * replica A as the kubelet would, and reports every failed request. Rejects with a `SimulatorError`
 * when the service cannot be run; never leaves a child process behind.
 */
export async function simulateTermination(options: SimulationOptions): Promise<SimulationResult> {
  const config = resolve(options)
  const [portA, portB, adminA, adminB] = (await freePorts(4)) as [number, number, number, number]
  const worker = new LoadWorker(config.proxyPort)
  // For the deaths of this process that no handler sees (SIGKILL, a crash): the reaper kills the replicas then.
  const reaper = new Reaper()
  const replicas: Replica[] = []
  const killAll = () => {
    for (const replica of replicas) replica.killGroup('SIGKILL')
  }
  process.once('exit', killAll)
  let progress: NodeJS.Timeout | undefined
  const started = performance.now()

  const abort = new Promise<never>((_, reject) => {
    const onAbort = () =>
      reject(new SimulatorError('LAMEDUCK_ERR_SIM_ABORTED', 'simulation aborted; every replica was killed'))
    if (options.signalAbort?.aborted) onAbort()
    options.signalAbort?.addEventListener('abort', onAbort, { once: true })
  })
  abort.catch(() => {})
  // Any await of the run races an abort and an unexpected crash of a replica.
  const guard = <T>(promise: Promise<T>, crashes: Replica[]): Promise<T> =>
    Promise.race([promise, abort, ...crashes.map((replica) => crashed(replica))])

  try {
    await guard(worker.listening, [])
    const [command, ...args] = config.command as [string, ...string[]]
    const commandLine = config.command.join(' ')
    // What a pod spec would set, so the service's budgets match the simulated grace period.
    const env = {
      ...process.env,
      TERMINATION_GRACE_PERIOD_SECONDS: String(config.graceMs / 1000),
      ...config.env,
    }
    const a = new Replica('A', portA, adminA, command, args, env)
    const b = new Replica('B', portB, adminB, command, args, env)
    replicas.push(a, b)
    for (const replica of replicas) reaper.watch(replica.child.pid)
    const waits = [a, b].flatMap((replica) => {
      const list = [replica.waitListening(replica.port, config.startupTimeoutMs, 'PORT', commandLine)]
      if (config.preStopPort === 'admin')
        list.push(replica.waitListening(replica.adminPort, config.startupTimeoutMs, 'ADMIN_PORT', commandLine))
      return list
    })
    await guard(Promise.all(waits), [])
    worker.post({ type: 'add', name: 'A', port: portA })
    worker.post({ type: 'add', name: 'B', port: portB })

    let stage: SimulationProgress['stage'] = 'warmup'
    if (options.onProgress) {
      const report = options.onProgress
      progress = setInterval(() => {
        const counts = worker.counts
        const elapsedMs = performance.now() - started
        report({
          elapsedMs,
          stage,
          requests: counts.total,
          failed: counts.failed,
          requestsPerSecond: (counts.total * 1000) / Math.max(elapsedMs, 1),
        })
      }, 250)
      progress.unref()
    }
    worker.post({
      type: 'start',
      options: {
        path: config.path,
        concurrency: config.concurrency,
        thinkMs: config.thinkMs,
        requestTimeoutMs: config.requestTimeoutMs,
      },
    })
    await guard(sleep(config.warmupMs), [a, b])

    const long: LoadCounts & { durationMs: number } = {
      total: 0,
      ok: 0,
      failed: 0,
      failures: {},
      durationMs: config.longMs,
    }
    const longRequests: Promise<void>[] = []
    if (config.longMs > 0) {
      const path = config.longPath.replaceAll('{ms}', String(config.longMs))
      for (let i = 0; i < config.longCount; i++) {
        // Straight to A: pinned there, like a connection kube-proxy routed to it earlier.
        const sent = send(false, portA, path, { requestTimeoutMs: config.longMs + config.requestTimeoutMs })
        longRequests.push(sent.then((outcome) => record(long, outcome)))
      }
      await guard(sleep(100), [a, b])
    }

    stage = 'terminating'
    const terminationStart = performance.now()
    const propagated = sleep(config.propagationMs).then(() => worker.post({ type: 'remove', name: 'A' }))
    const preStopPort =
      config.preStopPort === 'port' ? portA : config.preStopPort === 'admin' ? adminA : config.preStopPort
    const termination = await guard(
      terminate(a, {
        graceMs: config.graceMs,
        signal: config.signal,
        startedAt: terminationStart,
        preStop:
          config.preStop === undefined
            ? undefined
            : { port: preStopPort, path: config.preStop, headers: config.preStopHeaders },
      }),
      [b],
    )
    await guard(propagated, [b])
    stage = 'tail'
    await guard(sleep(config.tailMs), [b])
    const { counts: loadCounts, ms: loadMs } = await guard(worker.stop(), [b])
    await guard(Promise.all(longRequests), [b])

    const failures: Record<string, number> = { ...loadCounts.failures }
    for (const [kind, count] of Object.entries(long.failures)) failures[kind] = (failures[kind] ?? 0) + count
    const failed = loadCounts.failed + long.failed
    return {
      passed: failed === 0 && !termination.sigkill,
      requests: loadCounts.total + long.total,
      ok: loadCounts.ok + long.ok,
      failed,
      failures,
      requestsPerSecond: Math.round((loadCounts.total * 1000) / loadMs),
      load: loadCounts,
      long,
      preStop: termination.preStop,
      signal: config.signal,
      signalAtMs: Math.round(termination.signalAtMs),
      terminationToExitMs: Math.round(termination.exitAtMs),
      exitCode: termination.exit.code,
      exitSignal: termination.exit.signal,
      sigkill: termination.sigkill,
      lameduck: lameduckTimeline(termination.preStop?.body, a.output, performance.timeOrigin + terminationStart),
      lastOutput: [...a.output],
      durationMs: Math.round(performance.now() - started),
      config: {
        concurrency: config.concurrency,
        thinkMs: config.thinkMs,
        path: config.path,
        graceMs: config.graceMs,
        propagationMs: config.propagationMs,
        warmupMs: config.warmupMs,
        tailMs: config.tailMs,
      },
    }
  } finally {
    clearInterval(progress)
    killAll()
    await worker.terminate()
    await Promise.race([Promise.all(replicas.map((replica) => replica.exited)), sleep(2000)])
    await reaper.done()
    process.removeListener('exit', killAll)
  }
}

/** The simulator's handle on the load process. */
class LoadWorker {
  readonly #worker: ChildProcess
  readonly listening: Promise<number>
  counts: LoadCounts = { total: 0, ok: 0, failed: 0, failures: {} }
  #stopped: ((result: { counts: LoadCounts; ms: number }) => void) | undefined

  constructor(proxyPort: number) {
    this.#worker = fork(workerPath.loadWorkerPath(), [], {
      env: { ...process.env, LAMEDUCK_SIM_LOAD_WORKER: '1', LAMEDUCK_SIM_PROXY_PORT: String(proxyPort) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    this.listening = new Promise((resolve, reject) => {
      this.#worker.on('message', (message: FromWorker) => {
        if (message.type === 'listening') resolve(message.port)
        else if (message.type === 'error')
          reject(
            message.code === 'LAMEDUCK_ERR_SIM_PORT_IN_USE'
              ? new SimulatorError('LAMEDUCK_ERR_SIM_PORT_IN_USE', message.message)
              : new Error(message.message),
          )
        else if (message.type === 'progress') this.counts = message.counts
        else if (message.type === 'stopped') {
          this.counts = message.counts
          this.#stopped?.({ counts: message.counts, ms: message.ms })
        }
      })
      this.#worker.once('error', reject)
      this.#worker.once('exit', (code, signal) => {
        reject(new Error(`the load process exited early (${signal ?? code})`))
        this.#stopped?.({ counts: this.counts, ms: 0 })
      })
    })
    this.listening.catch(() => {})
  }

  post(message: ToWorker): void {
    if (this.#worker.connected) this.#worker.send(message)
  }

  /** Stops the load; resolves with the final counts once every request in flight has finished. */
  stop(): Promise<{ counts: LoadCounts; ms: number }> {
    const result = new Promise<{ counts: LoadCounts; ms: number }>((resolve) => {
      this.#stopped = resolve
    })
    this.post({ type: 'stop' })
    return result
  }

  async terminate(): Promise<void> {
    if (this.#worker.exitCode !== null || this.#worker.signalCode !== null) return
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve))
    this.#worker.kill('SIGKILL')
    await exited
  }
}

/**
 * The simulator's handle on the reaper (see reaper.ts): told each replica's process group, it SIGKILLs them
 * if this process dies before {@link Reaper.done}. Best effort: a reaper that cannot start leaves the
 * simulation to its own cleanup, as before.
 */
class Reaper {
  readonly #child: ChildProcess
  readonly #exited: Promise<void>

  constructor() {
    // The simulator's pid in its argv, so that `ps` tells which simulator a reaper guards.
    this.#child = fork(workerPath.reaperPath(), [String(process.pid)], {
      detached: true,
      // Nothing of the simulator's environment or flags (NODE_OPTIONS, --inspect, loaders): a bare node.
      env: { LAMEDUCK_SIM_REAPER: '1' },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    })
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', () => resolve())
      this.#child.on('error', () => resolve())
    })
    // Never what keeps the simulator's process alive.
    this.#child.unref()
    this.#child.channel?.unref()
  }

  /** Adds a replica's process group (its pid: each replica leads a group of its own). */
  watch(pgid: number | undefined): void {
    if (pgid !== undefined) this.#send({ type: 'watch', pgid })
  }

  /** The simulator has cleaned up by itself: the reaper exits without killing anything. */
  async done(): Promise<void> {
    this.#send({ type: 'done' })
    await Promise.race([this.#exited, sleep(1000)])
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL')
      await Promise.race([this.#exited, sleep(1000)])
    }
  }

  #send(message: ToReaper): void {
    // With a callback, a channel already closed is reported there rather than as an 'error' event.
    if (this.#child.connected) this.#child.send(message, () => {})
  }
}

async function crashed(replica: Replica): Promise<never> {
  const exit = await replica.exited
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`
  throw new SimulatorError(
    'LAMEDUCK_ERR_SIM_REPLICA_CRASHED',
    `replica ${replica.name} exited unexpectedly with ${how}`,
    replica.output.slice(-10),
  )
}

function resolve(options: SimulationOptions) {
  if (!options || !Array.isArray(options.command) || options.command.length === 0)
    throw new InvalidOptionError('command', 'expected the service command line, e.g. ["node", "server.js"]')
  const positiveInt = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback
    if (!Number.isInteger(v) || v < 1) throw new InvalidOptionError(name, `expected a positive integer, got ${v}`)
    return v
  }
  const signal = options.signal ?? D.signal
  if (typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal))
    throw new InvalidOptionError('signal', `not a signal name: ${signal}`)
  // A name this platform does not know would never reach the service: refuse it before anything starts.
  if (!Object.hasOwn(constants.signals, signal))
    throw new InvalidOptionError('signal', `unknown signal ${signal} (expected a name like SIGTERM, SIGINT or SIGQUIT)`)
  const preStopPort = options.preStopPort ?? D.preStopPort
  if (preStopPort !== 'port' && preStopPort !== 'admin' && !(Number.isInteger(preStopPort) && preStopPort > 0))
    throw new InvalidOptionError('preStopPort', `expected a port number, "port" or "admin", got ${preStopPort}`)
  if (options.preStop !== undefined && !options.preStop.startsWith('/'))
    throw new InvalidOptionError('preStop', `expected a path starting with /, got ${options.preStop}`)
  return {
    command: options.command,
    env: options.env ?? {},
    concurrency: positiveInt('concurrency', options.concurrency, D.concurrency),
    thinkMs: parseDuration('think', options.think ?? D.think),
    path: options.path ?? D.path,
    longMs: parseDuration('long', options.long ?? 0),
    longCount: positiveInt('longCount', options.longCount, D.longCount),
    longPath: options.longPath ?? D.longPath,
    preStop: options.preStop,
    preStopHeaders: options.preStopHeaders ?? {},
    preStopPort,
    signal,
    graceMs: parseDuration('grace', options.grace ?? D.grace),
    propagationMs: parseDuration('propagation', options.propagation ?? D.propagation),
    warmupMs: parseDuration('warmup', options.warmup ?? D.warmup),
    tailMs: parseDuration('tail', options.tail ?? D.tail),
    startupTimeoutMs: parseDuration('startupTimeout', options.startupTimeout ?? D.startupTimeout),
    requestTimeoutMs: parseDuration('requestTimeout', options.requestTimeout ?? D.requestTimeout),
    proxyPort: options.proxyPort ?? D.proxyPort,
  }
}

// Epoch ms in the report against the epoch of the termination start: the same machine's clock.
function lameduckTimeline(body: string | undefined, output: readonly string[], startEpoch: number) {
  const report = reportIn(body) ?? output.map((line) => reportIn(line, 'report')).findLast(Boolean)
  if (!report) return null
  return {
    triggeredAtMs: Math.round(report.start - startEpoch),
    finishedAtMs: Math.round(report.end - startEpoch),
    exitCode: report.exitCode,
  }
}

function reportIn(text: string | undefined, key?: string): { start: number; end: number; exitCode: number } | null {
  if (!text?.startsWith('{')) return null
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>
    const report = (key ? parsed[key] : parsed) as Record<string, unknown> | undefined
    if (report && typeof report.start === 'number' && typeof report.end === 'number')
      return { start: report.start, end: report.end, exitCode: Number(report.exitCode) }
  } catch {
    // Not JSON: not lameduck's report.
  }
  return null
}
