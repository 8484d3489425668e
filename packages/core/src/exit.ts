import { keptAlive, summarizeKeptAlive } from './alive.js'
import type { Clock } from './clock.js'
import { DEFAULTS, EXIT_CODES } from './defaults.js'
import type { Logger } from './logger.js'
import { beginRun, claimExit, othersFinished, othersPending, type ProcessRun, worstExitCode } from './process-runs.js'
import type { ShutdownReport } from './report.js'
import { type StallWatch, startStallWatch } from './stall-watch.js'

/** What the exit path needs from the coordinator. */
export interface ExitOptions {
  /** The exit function (`process.exit` unless the `exit` option says otherwise); `undefined`: never exit. */
  exit: ((code: number) => void) | undefined
  logger: Logger
  clock: Clock
  /** Gives up every task still running or not started: the process is about to exit. */
  abandonAll(why: string): void
  /** What the watchdog logs when the run itself has not finished. */
  describeRun(): Record<string, unknown>
  /**
   * Called once, first thing at the exit, with the exit code (the coordinator removes its run's process
   * listeners).
   */
  beforeExit(code: number): void
  /** Called once the exit is this coordinator's to make (claimed), just before it: the termination log. */
  lastWords(code: number): void
  /**
   * The exit flushes (`addExitFlush`), after the `exit` log line and before the exit function, on the
   * ordinary exit path (not the watchdog's or a second SIGINT's). Never past `until`; never rejects.
   */
  flush(until: number): Promise<void>
}

/**
 * The one way a coordinator ends the process — the only place lameduck exits: once the run is done and
 * every `holdExit()` released (then, with other coordinators' runs in the process, once all of them are
 * done, with the worst exit code), or by the watchdog just before the deadline, or at a second SIGINT.
 * Also the stall watcher and the registry of runs in the process, which both live from arm() to the exit.
 */
export class ExitPath {
  readonly #options: ExitOptions
  readonly #holds = new Set<Promise<void>>()
  #watchdog: unknown
  #watchdogAt = Number.POSITIVE_INFINITY
  /** The exit code, once the exit has begun (the exit flushes run then). */
  #exiting: number | undefined
  #stallWatch: StallWatch | undefined
  #processRun: { run: ProcessRun; finish(exitCode: number): void } | undefined
  #runFinished = false
  #exited = false
  #report: ShutdownReport | undefined
  /** Errors after the report was final: the exit code still tells. */
  #lateErrors = 0

  constructor(options: ExitOptions) {
    this.#options = options
  }

  get exited(): boolean {
    return this.#exited
  }

  /** At the first trigger: joins the process's runs, and (when this run owns the exit) starts the watchdog. */
  arm(ownsExit: boolean, watchdogAt: number): void {
    const { clock } = this.#options
    this.#processRun = beginRun(() => this.#options.abandonAll('the process exits'))
    if (!ownsExit) return
    this.#watchdogAt = watchdogAt
    this.#watchdog = clock.setTimeout(() => this.#onWatchdog(), watchdogAt - clock.now())
    this.#stallWatch = startStallWatch({
      deadline: watchdogAt,
      stallMs: DEFAULTS.stallReportMs,
      beatMs: DEFAULTS.stallBeatMs,
    })
  }

  /** See `Shutdown.holdExit`. */
  hold(): () => void {
    let release!: () => void
    const hold = new Promise<void>((resolve) => {
      release = resolve
    })
    this.#holds.add(hold)
    return () => {
      this.#holds.delete(hold)
      release()
    }
  }

  /** Whether the exit is held now (`holdExit()` not released). */
  get held(): boolean {
    return this.#holds.size > 0
  }

  /** The tasks running now, for the stall watcher's report. */
  running(names: string[]): void {
    this.#stallWatch?.running(names)
  }

  /** The report is final. */
  reported(report: ShutdownReport): void {
    this.#report = report
    this.#stallWatch?.stop()
  }

  lateError(): void {
    this.#lateErrors++
  }

  /** A run that does not own the exit (`exit: false`, or `close()`) is done: the process's registry is told. */
  release(exitCode: number): void {
    this.#finishProcessRun(exitCode)
  }

  /** After the report: waits for the holds, then exits (never past the watchdog). */
  async finish(report: ShutdownReport): Promise<void> {
    if (!this.#options.exit || report.trigger === 'dispose') {
      this.#options.clock.clearTimeout(this.#watchdog)
      return
    }
    while (this.#holds.size > 0) await Promise.all([...this.#holds])
    // One more turn of the event loop, so that whoever awaited the report can act on it first.
    await new Promise((resolve) => setImmediate(resolve))
    const own = this.#ownCode(report)
    const processRun = this.#finishProcessRun(own)
    // Another coordinator's run in this process (a module wired on its own) must not be cut short: wait
    // for it — never past this run's watchdog — and exit once, with the worst code of the two.
    if (processRun) await othersFinished(processRun)
    const code = processRun ? worstExitCode(processRun, own) : own
    if (!this.#begin(code)) return
    // The exit flushes write out what the exit line and everything before it left buffered. The watchdog
    // stays armed: a flush the event loop cannot finish does not hold the exit past it.
    await this.#options.flush(this.#watchdogAt)
    this.#hand(code)
  }

  /** Exits now, without the exit flushes (the watchdog, a second SIGINT). */
  exit(code: number): void {
    if (this.#exiting !== undefined) {
      this.#hand(code)
      return
    }
    if (this.#begin(code)) this.#hand(code)
  }

  /** The exit's first half: its last words and the `exit` line. False when it is not this coordinator's to make. */
  #begin(code: number): boolean {
    if (this.#exited || this.#exiting !== undefined || !this.#options.exit) return false
    this.#exiting = code
    this.#stallWatch?.stop()
    this.#options.beforeExit(code)
    // One exit per process: another coordinator of this run's cohort may have claimed it already. Claiming
    // gives up every task still running anywhere in the process (their onAbandon hooks run now).
    if (this.#processRun && !claimExit(this.#processRun.run)) {
      this.#exited = true
      this.#options.clock.clearTimeout(this.#watchdog)
      return false
    }
    this.#options.lastWords(code)
    this.#options.logger.info({ event: 'exit', exitCode: code }, `exiting with code ${code}`)
    return true
  }

  /** The exit's second half: the exit function. */
  #hand(code: number): void {
    if (this.#exited || !this.#options.exit) return
    this.#exited = true
    this.#options.clock.clearTimeout(this.#watchdog)
    try {
      this.#options.logger.flush?.()
    } catch {
      // A logger that cannot flush must not keep the process from exiting.
    }
    this.#options.exit(code)
  }

  #ownCode(report: ShutdownReport): number {
    return this.#lateErrors > 0 ? Math.max(report.exitCode, EXIT_CODES.failed) : report.exitCode
  }

  #finishProcessRun(exitCode: number): ProcessRun | undefined {
    const processRun = this.#processRun
    if (processRun && !this.#runFinished) {
      this.#runFinished = true
      processRun.finish(exitCode)
    }
    return processRun?.run
  }

  #onWatchdog(): void {
    if (this.#exited) return
    const { logger } = this.#options
    const alive = keptAlive()
    if (this.#exiting !== undefined) {
      logger.warn(
        { event: 'watchdog', exitFlushes: true, keptAlive: alive },
        `deadline reached while the exit flushes ran; exiting. Still alive: ${summarizeKeptAlive(alive)}`,
      )
      this.#hand(this.#exiting)
      return
    }
    const report = this.#report
    if (report) {
      const processRun = this.#processRun?.run
      const othersRunning = processRun !== undefined && this.#runFinished && othersPending(processRun)
      logger.warn(
        { event: 'watchdog', holds: this.#holds.size, keptAlive: alive },
        (othersRunning
          ? "deadline reached while another coordinator's run in this process was still going; exiting"
          : 'deadline reached while exit was held (e.g. a /shutdown response); exiting') +
          `. Still alive: ${summarizeKeptAlive(alive)}`,
      )
      const own = this.#ownCode(report)
      this.exit(othersRunning ? Math.max(worstExitCode(processRun, own), EXIT_CODES.watchdog) : own)
      return
    }
    logger.error(
      { event: 'watchdog', ...this.#options.describeRun(), keptAlive: alive },
      `deadline reached before the shutdown finished: exiting before SIGKILL. Still alive: ${summarizeKeptAlive(alive)}`,
    )
    this.exit(EXIT_CODES.watchdog)
  }
}
