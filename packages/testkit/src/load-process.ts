import { type ChildProcess, fork } from 'node:child_process'
import { SimulatorError } from './errors.js'
import type { LoadCounts, LoadOptions } from './load.js'
import type { FromWorker, ToWorker } from './load-worker.js'
import type { WsCounts, WsLoadOptions } from './ws-load.js'

/** What the load process reports when the load has stopped: the final counts and how long it ran. */
export interface LoadTotals {
  counts: LoadCounts
  /** The WebSocket clients' counts, `null` without any. */
  ws: WsCounts | null
  ms: number
}

/** The simulator's handle on the load process (see load-worker.ts): the proxy and the load generator. */
export class LoadProcess {
  readonly #worker: ChildProcess
  /** Resolves with the proxy's port once it listens; rejects if it cannot (`LAMEDUCK_ERR_SIM_PORT_IN_USE`). */
  readonly listening: Promise<number>
  /** The counts so far, as the load process last reported them. */
  counts: LoadCounts = { total: 0, ok: 0, failed: 0, failures: {}, connections: 0 }
  #stopped: ((totals: LoadTotals) => void) | undefined

  /** @param file load-worker.js of this build */
  constructor(file: string, proxyPort: number) {
    this.#worker = fork(file, [], {
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
          this.#stopped?.({ counts: message.counts, ws: message.ws, ms: message.ms })
        }
      })
      this.#worker.once('error', reject)
      this.#worker.once('exit', (code, signal) => {
        reject(new Error(`the load process exited early (${signal ?? code})`))
        this.#stopped?.({ counts: this.counts, ws: null, ms: 0 })
      })
    })
    this.listening.catch(() => {})
  }

  /** Makes a replica one of the proxy's endpoints. */
  addEndpoint(name: string, port: number): void {
    this.#post({ type: 'add', name, port })
  }

  /** Takes a replica out of the proxy's choice for new connections, as the endpoint removal does. */
  removeEndpoint(name: string): void {
    this.#post({ type: 'remove', name })
  }

  /** Starts the load through the proxy: HTTP callers, and WebSocket clients when `ws` is given. */
  start(
    options: Omit<LoadOptions, 'port' | 'upstreamError'>,
    ws: Omit<WsLoadOptions, 'port' | 'upstreamError'> | null = null,
  ): void {
    this.#post({ type: 'start', options, ws })
  }

  /** Stops the load; resolves with the final counts once every request in flight has finished. */
  stop(): Promise<LoadTotals> {
    const totals = new Promise<LoadTotals>((resolve) => {
      this.#stopped = resolve
    })
    this.#post({ type: 'stop' })
    return totals
  }

  /** Kills the load process, if it still runs, and waits for its exit. */
  async terminate(): Promise<void> {
    if (this.#worker.exitCode !== null || this.#worker.signalCode !== null) return
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve))
    this.#worker.kill('SIGKILL')
    await exited
  }

  #post(message: ToWorker): void {
    if (this.#worker.connected) this.#worker.send(message)
  }
}
