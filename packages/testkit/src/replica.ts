import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { SIM_LIMITS, SIM_TIMINGS } from './defaults.js'
import { SimulatorError } from './errors.js'
import { attempt } from './http-hook.js'
import { mayBeReportLine, reportInLine, type ServiceReport } from './service-report.js'

export interface ReplicaExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** performance.now() at the exit. */
  at: number
}

/**
 * One replica of the user's service, in its own process group so that nothing it starts outlives the
 * simulation. Signals for termination go to the main process only, as the container runtime sends
 * them to PID 1; cleanup kills the whole group.
 */
export class Replica {
  readonly child: ChildProcess
  readonly output: string[] = []
  /** The last shutdown report the service logged (lameduck's `event: "report"` line), kept apart from `output`
   * so that later lines cannot push it out. */
  report: ServiceReport | null = null
  readonly exited: Promise<ReplicaExit>
  /**
   * What it gets on top of the simulator's own environment (which stands in for the image's): `environment`
   * as given — the pod's variables and the pod spec's `env` — and its `PORT` and `ADMIN_PORT`.
   */
  readonly environment: Record<string, string>
  /** Set once the process is gone. */
  exit: ReplicaExit | undefined
  #spawnError: Error | undefined

  constructor(
    readonly name: string,
    readonly port: number,
    readonly adminPort: number,
    command: string,
    args: readonly string[],
    environment: Record<string, string>,
  ) {
    this.environment = { ...environment, PORT: String(port), ADMIN_PORT: String(adminPort) }
    this.child = spawn(command, args, {
      env: { ...process.env, ...this.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = ''
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) this.#remember(line)
      })
      stream?.on('end', () => partial && this.#remember(partial))
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.#spawnError = error
        this.exit = { code: null, signal: null, at: performance.now() }
        resolve(this.exit)
      })
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: performance.now() }
        resolve(this.exit)
      })
    })
  }

  get running(): boolean {
    return this.exit === undefined
  }

  /**
   * Sends a signal to the main process. A process already gone (`ESRCH`) is not an error; anything else —
   * an unknown signal, no permission — throws a `SimulatorError` (`LAMEDUCK_ERR_SIM_SIGNAL_FAILED`), since
   * the service would otherwise never be told to stop and the run would measure nothing.
   */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return
    try {
      process.kill(this.child.pid, signal)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return
      throw new SimulatorError(
        'LAMEDUCK_ERR_SIM_SIGNAL_FAILED',
        `could not send ${signal} to replica ${this.name}: ${(error as Error).message}`,
        this.lastOutput(),
        { cause: error },
      )
    }
  }

  /** Its last output lines, for an error that blames it. */
  lastOutput(): string[] {
    return this.output.slice(-SIM_LIMITS.outputLinesInErrors)
  }

  /** Kills the whole process group, children of the service included. Safe to call any number of times. */
  killGroup(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.pid === undefined) return
    try {
      process.kill(-this.child.pid, signal)
    } catch {
      // No such group: everything in it is gone already.
    }
  }

  /** Resolves once `port` accepts connections; rejects with a clear SimulatorError otherwise. */
  async waitListening(port: number, timeoutMs: number, what: string, commandLine: string): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (!this.running) {
        if (this.#spawnError && (this.#spawnError as NodeJS.ErrnoException).code === 'ENOENT')
          throw new SimulatorError(
            'LAMEDUCK_ERR_SIM_COMMAND_NOT_FOUND',
            `command not found: ${commandLine.split(' ')[0]} (is it installed and on PATH?)`,
          )
        if (this.#spawnError)
          throw new SimulatorError(
            'LAMEDUCK_ERR_SIM_COMMAND_NOT_FOUND',
            `could not start ${commandLine}: ${this.#spawnError.message}`,
          )
        const how = this.exit?.signal ? `signal ${this.exit.signal}` : `code ${this.exit?.code}`
        const inUse = this.output.some((line) => line.includes('EADDRINUSE'))
        // The port the service failed on, as Node prints it (`… address already in use 127.0.0.1:8080`):
        // not necessarily the PORT it was given.
        const taken = this.output.map((line) => /EADDRINUSE.*:(\d+)\s*$/.exec(line)?.[1]).find(Boolean)
        throw new SimulatorError(
          inUse ? 'LAMEDUCK_ERR_SIM_PORT_IN_USE' : 'LAMEDUCK_ERR_SIM_EXITED_AT_START',
          inUse
            ? `replica ${this.name} could not listen: port ${taken ?? port} is already in use`
            : `replica ${this.name} exited at start with ${how} before listening on ${what} ${port}`,
          this.lastOutput(),
        )
      }
      if (await canConnect(port)) return
      await delay(SIM_TIMINGS.listenPollMs)
    }
    throw new SimulatorError(
      'LAMEDUCK_ERR_SIM_NEVER_LISTENED',
      `replica ${this.name} never listened on ${what} ${port} within ${timeoutMs} ms ` +
        `(does it read the ${what === 'PORT' ? 'PORT' : 'ADMIN_PORT'} environment variable?)`,
      this.lastOutput(),
    )
  }

  /**
   * With `readinessPath`, as a readinessProbe's httpGet: asks `GET <path>` on its PORT every
   * `readinessPollMs` until it answers 200, and resolves with the performance.now() of that answer. Past
   * `deadline` (a performance.now(): what is left of `startupTimeout`) it rejects with
   * `LAMEDUCK_ERR_SIM_NEVER_READY`, naming the last answer. Its exit is the caller's to watch (`run.guard`).
   */
  async waitReady(path: string, deadline: number, timeoutMs: number): Promise<number> {
    let last = 'no answer'
    while (this.running) {
      const limitMs = Math.max(1, Math.min(SIM_TIMINGS.readinessRequestTimeoutMs, deadline - performance.now()))
      const answer = await attempt('http', { port: this.port, path }, {}, limitMs, { abandon: false })
      if (answer.status === 200) return performance.now()
      const body = answer.body.trim().slice(0, SIM_TIMINGS.readinessBodyChars).replace(/\s+/g, ' ')
      last =
        answer.status !== null
          ? `${answer.status}${body ? ` ${body}` : ''}`
          : answer.error === 'timeout'
            ? `timeout after ${Math.round(limitMs)} ms`
            : (answer.error ?? 'no answer')
      if (performance.now() + SIM_TIMINGS.readinessPollMs >= deadline) break
      await delay(SIM_TIMINGS.readinessPollMs)
    }
    throw new SimulatorError(
      'LAMEDUCK_ERR_SIM_NEVER_READY',
      `replica ${this.name} listened but never got ready within ${timeoutMs} ms: GET ${path} on PORT ${this.port} ` +
        `last answered ${last} (a readinessProbe would keep it out of the Service's endpoints)`,
      this.lastOutput(),
    )
  }

  #remember(line: string): void {
    if (mayBeReportLine(line)) this.report = reportInLine(line) ?? this.report
    this.output.push(line)
    if (this.output.length > SIM_LIMITS.outputLines) this.output.shift()
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
