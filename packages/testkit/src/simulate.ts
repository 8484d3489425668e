import { type ChildProcess, fork } from 'node:child_process'
import { MAX_TIMER_MS } from '@lameduck/core'
import { SimulatorError } from './errors.js'
import { type PreStopResult, terminate } from './kubelet.js'
import { type LoadCounts, record, send } from './load.js'
import type { FromWorker, ToWorker } from './load-worker.js'
import { resolveOptions } from './options.js'
import { podEnvironment, podNames } from './pod-env.js'
import { freePorts } from './ports.js'
import type { ToReaper } from './reaper.js'
import { Replica } from './replica.js'
import { reportInBody, type ServiceReport, type ServiceTask } from './service-report.js'
import { verdictOf } from './verdict.js'
import workerPath from './worker-path.cjs'

/** A duration: ms as a number, or a suffixed string (`'500ms'`, `'8s'`). */
export type Duration = number | string

/** Options of {@link simulateTermination}. Durations take ms or a suffixed string (`'500ms'`, `'8s'`). */
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
  /** Concurrent keep-alive callers, 1 to 10,000. Default: 64. */
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
  /** No reason to fail: see `reasons`. */
  passed: boolean
  /**
   * Why the run failed, one sentence each (empty when it passed): failed requests, SIGKILL, replica A's exit
   * (a code other than 0, or killed by a signal), a critical task its own report says was skipped, timed out
   * or failed, a preStop hook that failed or answered anything but 2xx (401, 404, 405…).
   */
  reasons: string[]
  /** What did not fail the run but would bite in a cluster (a non-critical task that failed, a deadline past SIGKILL). */
  warnings: string[]
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
  /**
   * What replica A got on top of the simulator's own environment: the pod's variables (`HOSTNAME`,
   * `KUBERNETES_*`), `env`, `PORT` and `ADMIN_PORT`.
   */
  environment: Record<string, string>
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

/** Replica A's shutdown as its lameduck report tells it; times in ms from termination start. */
export interface LameduckTimeline {
  triggeredAtMs: number
  finishedAtMs: number
  /** The deadline the service planned for (`null` in reports without one). */
  deadlineAtMs: number | null
  /** What started its run: `http` (the preStop `/shutdown`), `signal`, … */
  trigger: string
  exitCode: number
  /** Every task whose outcome was not `ok`. */
  notOk: ServiceTask[]
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs two replicas of a service behind a kube-proxy-like proxy under keep-alive load, terminates
 * replica A as the kubelet would, and reports every failed request. Rejects with a `SimulatorError`
 * when the service cannot be run; never leaves a child process behind.
 */
export async function simulateTermination(options: SimulationOptions): Promise<SimulationResult> {
  const config = resolveOptions(options)
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
    // The simulator's environment stands in for the image's; on top, what Kubernetes sets in every container
    // (and nothing it does not: no TERMINATION_GRACE_PERIOD_SECONDS unless `env` — the pod spec — says so).
    const [podA, podB] = podNames()
    const envOf = (pod: string) => ({ ...process.env, ...podEnvironment(pod), ...config.env })
    const a = new Replica('A', portA, adminA, command, args, envOf(podA))
    const b = new Replica('B', portB, adminB, command, args, envOf(podB))
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
        const requestTimeoutMs = Math.min(config.longMs + config.requestTimeoutMs, MAX_TIMER_MS)
        const sent = send(false, portA, path, { requestTimeoutMs })
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
    const terminationStartEpoch = performance.timeOrigin + terminationStart
    // The preStop body holds the report of a run the hook started; the log line that of any run.
    const report = reportInBody(termination.preStop?.body) ?? a.report
    const verdict = verdictOf({
      failed,
      failures,
      sigkill: termination.sigkill,
      graceMs: config.graceMs,
      signal: config.signal,
      exitCode: termination.exit.code,
      exitSignal: termination.exit.signal,
      preStop: termination.preStop,
      preStopAuthorization: Object.hasOwn(config.preStopHeaders, 'authorization'),
      report,
      terminationStartEpoch,
      sigkillAtMs: termination.sigkillAtMs,
    })
    return {
      passed: verdict.passed,
      reasons: verdict.reasons,
      warnings: verdict.warnings,
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
      lameduck: report && timeline(report, terminationStartEpoch),
      lastOutput: [...a.output],
      environment: { ...podEnvironment(podA), ...config.env, PORT: String(portA), ADMIN_PORT: String(adminA) },
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

// Epoch ms in the report against the epoch of the termination start: the same machine's clock.
function timeline(report: ServiceReport, startEpoch: number): LameduckTimeline {
  return {
    triggeredAtMs: Math.round(report.start - startEpoch),
    finishedAtMs: Math.round(report.end - startEpoch),
    deadlineAtMs: report.deadline === null ? null : Math.round(report.deadline - startEpoch),
    trigger: report.trigger,
    exitCode: report.exitCode,
    notOk: report.notOk,
  }
}
