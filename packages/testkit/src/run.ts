import { setTimeout as delay } from 'node:timers/promises'
import { SIM_TIMINGS } from './defaults.js'
import { SimulatorError } from './errors.js'
import type { ExecHook } from './exec-hook.js'
import { LoadProcess } from './load-process.js'
import { ReaperProcess } from './reaper-process.js'
import type { Replica } from './replica.js'
import type { SimulationProgress } from './result.js'

/**
 * What one simulation holds from its start to its cleanup — the load process, the reaper, the replicas —
 * and what ends any of its waits early: an abort, or a replica that dies when it should not.
 * {@link SimulationRun.close} leaves nothing behind, however the run ended.
 */
export class SimulationRun {
  readonly load: LoadProcess
  readonly replicas: Replica[] = []
  /** The exec hooks started: killed by the cleanup, like the replicas. */
  readonly hooks: ExecHook[] = []
  /** performance.now() at the start. */
  readonly started: number
  /** What the run is doing, for the progress reports. */
  stage: SimulationProgress['stage'] = 'warmup'
  readonly #reaper: ReaperProcess
  readonly #aborted: Promise<never>
  readonly #timers: NodeJS.Timeout[] = []
  readonly #killAll = () => {
    for (const replica of this.replicas) replica.killGroup('SIGKILL')
    for (const hook of this.hooks) hook.kill()
  }

  /** Starts the load process and the reaper; `signal` aborts the run. */
  static async open(proxyPort: number, signal: AbortSignal | undefined): Promise<SimulationRun> {
    // Loaded when a run opens, not imported: the one CommonJS module of the package (see worker-path.cts),
    // which a bundler or test runner reading the sources cannot always take.
    const { default: files } = await import('./worker-path.cjs')
    return new SimulationRun(files.loadWorkerPath(), files.reaperPath(), proxyPort, signal)
  }

  private constructor(loadWorker: string, reaper: string, proxyPort: number, signal: AbortSignal | undefined) {
    this.load = new LoadProcess(loadWorker, proxyPort)
    // For the deaths of this process that no handler sees (SIGKILL, a crash): the reaper kills the replicas then.
    this.#reaper = new ReaperProcess(reaper)
    process.once('exit', this.#killAll)
    this.started = performance.now()
    this.#aborted = new Promise<never>((_, reject) => {
      const onAbort = () =>
        reject(new SimulatorError('LAMEDUCK_ERR_SIM_ABORTED', 'simulation aborted; every replica was killed'))
      if (signal?.aborted) onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    this.#aborted.catch(() => {})
  }

  /**
   * `promise`, unless the run is aborted first or one of `replicas` exits first (`LAMEDUCK_ERR_SIM_ABORTED`,
   * `LAMEDUCK_ERR_SIM_REPLICA_CRASHED`). Every wait of the run goes through it.
   */
  guard<T>(promise: Promise<T>, replicas: readonly Replica[] = []): Promise<T> {
    return Promise.race([promise, this.#aborted, ...replicas.map(crashed)])
  }

  /** A replica of the run: watched by the reaper, killed by the cleanup. */
  add(replica: Replica): Replica {
    this.replicas.push(replica)
    this.#reaper.watch(replica.child.pid)
    return replica
  }

  /** An exec hook of the run: watched by the reaper, killed by the cleanup. */
  addHook(hook: ExecHook): void {
    this.hooks.push(hook)
    this.#reaper.watch(hook.child.pid)
  }

  /** Calls `report` with the counts so far, every `progressEveryMs` until the cleanup. */
  reportProgress(report: (progress: SimulationProgress) => void): void {
    const timer = setInterval(() => {
      const counts = this.load.counts
      const elapsedMs = performance.now() - this.started
      report({
        elapsedMs,
        stage: this.stage,
        requests: counts.total,
        failed: counts.failed,
        requestsPerSecond: (counts.total * 1000) / Math.max(elapsedMs, 1),
      })
    }, SIM_TIMINGS.progressEveryMs)
    timer.unref()
    this.#timers.push(timer)
  }

  /** Kills every replica's process group and the load process, waits for them, then lets the reaper go. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    this.#killAll()
    await this.load.terminate()
    await Promise.race([
      Promise.all(this.replicas.map((replica) => replica.exited)),
      delay(SIM_TIMINGS.replicasGoneWaitMs),
    ])
    await this.#reaper.done()
    process.removeListener('exit', this.#killAll)
  }
}

async function crashed(replica: Replica): Promise<never> {
  const exit = await replica.exited
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`
  throw new SimulatorError(
    'LAMEDUCK_ERR_SIM_REPLICA_CRASHED',
    `replica ${replica.name} exited unexpectedly with ${how}`,
    replica.lastOutput(),
  )
}
