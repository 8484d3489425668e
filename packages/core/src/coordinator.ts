import { type BudgetPlan, exitReserveMs, phaseCutoff, planBudget, reservedFor } from './budget.js'
import { type Clock, sleep } from './clock.js'
import { DEFAULTS, EXIT_CODES } from './defaults.js'
import { Emitter } from './emitter.js'
import {
  DuplicateTaskError,
  errorMessage,
  PhaseStartedError,
  TaskAbandonedError,
  TaskOverrunError,
  TaskSkippedError,
  TaskTimeoutError,
  UncaughtDuringShutdownError,
} from './errors.js'
import type { Logger } from './logger.js'
import { type ResolvedOptions, resolveOptions, type ShutdownOptions } from './options.js'
import { PHASES, type Phase } from './phases.js'
import {
  beginRun,
  claimExit,
  countInstalled,
  othersFinished,
  othersPending,
  type ProcessRun,
  worstExitCode,
} from './process-runs.js'
import {
  exitCodeFor,
  type PhaseReport,
  type RunErrorRecord,
  type ShutdownReport,
  type TaskOutcome,
  type TaskReport,
  type TriggerKind,
  type TriggerRecord,
  worstOutcome,
} from './report.js'
import type { Shutdown, ShutdownEvents, ShutdownState, ShutdownWarning, TriggerOptions } from './shutdown.js'
import { type StallWatch, startStallWatch } from './stall-watch.js'
import {
  type AbandonEvent,
  normalizeTask,
  type Registration,
  registration,
  type Task,
  type TaskContext,
  type TaskSpec,
} from './task.js'

/**
 * Creates the shutdown coordinator. It installs its signal handlers at once (unless `signals: []`).
 *
 * @example
 * const shutdown = createShutdown({ drainDelayMs: 5000 })
 * shutdown.addTask({ name: 'close-db', phase: 'close', timeoutMs: 3000, run: () => pool.end() })
 */
export function createShutdown(options?: ShutdownOptions): Shutdown {
  return new Coordinator(resolveOptions(options))
}

class Coordinator implements Shutdown {
  readonly #options: ResolvedOptions
  readonly #emitter: Emitter<ShutdownEvents>
  readonly #tasks = new Map<string, Task>()
  readonly #startedPhases = new Set<Phase>()
  readonly #triggers: TriggerRecord[] = []
  readonly #holds = new Set<Promise<void>>()
  readonly #running = new Map<string, { task: Task; start: number; budgetMs: number }>()
  readonly #completed: PhaseReport[] = []
  readonly #listeners: [string, (...args: unknown[]) => void][] = []
  #state: ShutdownState = 'running'
  #run: Promise<ShutdownReport> | undefined
  #report: ShutdownReport | undefined
  #deadline: number | undefined
  #watchdog: unknown
  #exited = false
  #sigints = 0
  #fitCheckScheduled = false
  #warnedTotal: number | undefined
  #processRun: { run: ProcessRun; finish(exitCode: number): void } | undefined
  #runFinished = false
  readonly #abandoned = new WeakSet<Task>()
  readonly #runErrors: RunErrorRecord[] = []
  #lateErrors = 0
  #runListeners: [string, (...args: unknown[]) => void][] = []
  #stallWatch: StallWatch | undefined
  #counted = false
  #severalWarning: number | undefined

  constructor(options: ResolvedOptions) {
    this.#options = options
    this.#emitter = new Emitter((event, error) =>
      options.logger.warn(
        { event: 'listener.error', listenerOf: String(event), error: errorMessage(error) },
        `a "${String(event)}" listener threw; ignored`,
      ),
    )
    for (const signal of options.signals) this.#listen(signal, () => this.#onSignal(signal))
    if (options.signals.length > 0) {
      this.#counted = true
      const installed = countInstalled(1)
      if (installed > 1) this.#severalWarning = installed
    }
    if (options.fatalErrors) {
      this.#listen('uncaughtException', (error: unknown, origin: unknown) => this.#onFatal(error, String(origin)))
      this.#listen('unhandledRejection', (reason: unknown) => this.#onFatal(reason, 'unhandledRejection'))
    }
    this.#scheduleFitCheck()
  }

  get state(): ShutdownState {
    return this.#state
  }

  get deadline(): number | undefined {
    return this.#deadline
  }

  get report(): ShutdownReport | undefined {
    return this.#report
  }

  get config() {
    const { gracePeriodMs, safetyMarginMs, drainDelayMs, signals } = this.#options
    return { gracePeriodMs, safetyMarginMs, drainDelayMs, signals }
  }

  get logger(): Logger {
    return this.#options.logger
  }

  isReady(): boolean {
    return this.#state === 'running'
  }

  get clock(): Clock {
    return this.#options.clock
  }

  addTask(spec: TaskSpec): Registration {
    const task = normalizeTask(spec)
    if (this.#tasks.has(task.name)) throw new DuplicateTaskError(task.name)
    if (this.#startedPhases.has(task.phase)) throw new PhaseStartedError(task.name, task.phase)
    this.#tasks.set(task.name, task)
    this.#scheduleFitCheck()
    return registration(task.name, () => {
      if (this.#tasks.get(task.name) === task && !this.#startedPhases.has(task.phase)) {
        this.#tasks.delete(task.name)
        this.#scheduleFitCheck()
      }
    })
  }

  shutdown(reason = 'shutdown() called', options: TriggerOptions = {}): Promise<ShutdownReport> {
    return this.#trigger(options.trigger ?? 'manual', String(reason))
  }

  on<K extends keyof ShutdownEvents>(event: K, listener: (payload: ShutdownEvents[K]) => void): () => void {
    return this.#emitter.on(event, listener)
  }

  holdExit(): () => void {
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

  plan(): BudgetPlan {
    const { gracePeriodMs, safetyMarginMs, drainDelayMs } = this.#options
    return planBudget(this.#tasks.values(), gracePeriodMs, safetyMarginMs, drainDelayMs)
  }

  warn(warning: ShutdownWarning): void {
    this.#options.logger.warn({ event: 'warning', code: warning.code, ...warning.details }, warning.message)
    this.#emitter.emit('warning', warning)
  }

  uninstall(): void {
    for (const [event, listener] of this.#listeners.splice(0)) process.removeListener(event, listener as () => void)
    if (this.#counted) {
      this.#counted = false
      countInstalled(-1)
    }
  }

  async close(): Promise<ShutdownReport> {
    try {
      return await this.#trigger('dispose', 'disposed')
    } finally {
      this.uninstall()
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #listen(event: string, listener: (...args: unknown[]) => void): void {
    process.on(event as NodeJS.Signals, listener as () => void)
    this.#listeners.push([event, listener])
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (signal === 'SIGINT' && ++this.#sigints >= 2 && this.#run && !this.#exited) {
      this.#options.logger.warn({ event: 'exit.forced', signal }, 'second SIGINT: exiting now')
      this.#exit(EXIT_CODES.forced)
      return
    }
    void this.#trigger('signal', signal)
  }

  #onFatal(error: unknown, origin: string): void {
    if (this.#run) {
      this.#onRunError(error, origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException')
      return
    }
    this.#options.logger.error(
      { event: 'fatal', origin, error: errorMessage(error), stack: error instanceof Error ? error.stack : undefined },
      `fatal error (${origin}): shutting down`,
    )
    void this.#trigger('fatal', `${origin}: ${errorMessage(error)}`)
  }

  #trigger(trigger: TriggerKind, reason: string): Promise<ShutdownReport> {
    const record: TriggerRecord = { trigger, reason, at: this.#options.clock.now() }
    this.#triggers.push(record)
    const first = this.#run === undefined
    this.#options.logger.info(
      { event: 'trigger', trigger, reason, first },
      first ? `shutdown triggered by ${trigger} (${reason})` : `${trigger} (${reason}) joined the running shutdown`,
    )
    if (first) this.#run = this.#execute(record)
    this.#emitter.emit('trigger', { ...record, first })
    return this.#run as Promise<ShutdownReport>
  }

  async #execute(first: TriggerRecord): Promise<ShutdownReport> {
    const { gracePeriodMs, safetyMarginMs, clock } = this.#options
    const deadline = first.at + gracePeriodMs - safetyMarginMs
    const reserve = exitReserveMs(gracePeriodMs, safetyMarginMs)
    // The phases end `reserve` before the deadline; the watchdog fires halfway between, so that even its
    // exit — logging, flushing stderr — happens before the deadline, not at it.
    const end = deadline - reserve
    this.#deadline = deadline
    this.#processRun = beginRun(() => this.#abandonAll('the process exits'))
    const ownsExit = this.#options.exit !== undefined && first.trigger !== 'dispose'
    if (ownsExit) {
      this.#watchdog = clock.setTimeout(() => this.#onWatchdog(), deadline - reserve / 2 - clock.now())
      this.#stallWatch = startStallWatch({
        deadline: deadline - reserve / 2,
        stallMs: DEFAULTS.stallReportMs,
        beatMs: DEFAULTS.stallBeatMs,
      })
    }
    // From the trigger on, an error thrown anywhere (a timer in a flush task, a client's error event) is
    // recorded and the run goes on: crashing now would skip release and close and leave no report.
    // With `fatalErrors: true` the handlers are installed already and do the same once a run is going.
    if (!this.#options.fatalErrors) {
      this.#listenRun('uncaughtException', (error: unknown) => this.#onRunError(error, 'uncaughtException'))
      this.#listenRun('unhandledRejection', (reason: unknown) => this.#onRunError(reason, 'unhandledRejection'))
    }

    // Not ready from the very moment of the trigger: the readiness probe must fail at once.
    this.#setState('draining')
    // Let the caller's synchronous code (and the trigger event) finish before the first phase starts.
    await Promise.resolve()
    for (const phase of PHASES) {
      if (phase === 'flush') this.#setState('stopping')
      this.#completed.push(await this.#runPhase(phase, end))
    }
    const report = this.#buildReport(first, clock.now())
    this.#report = report
    this.#stallWatch?.stop()
    if (report.end > report.deadline)
      this.#options.logger.error(
        { event: 'deadline.missed', lateMs: report.end - report.deadline },
        `the run ended ${report.end - report.deadline} ms after its deadline: the event loop was blocked`,
      )
    if (!ownsExit) {
      this.#finishProcessRun(report.exitCode)
      this.#removeRunListeners()
    }
    this.#setState('stopped')
    const failed = report.exitCode !== 0
    this.#options.logger[failed ? 'error' : 'info'](
      { event: 'report', report },
      `shutdown finished in ${report.durationMs} ms, exit code ${report.exitCode}`,
    )
    this.#emitter.emit('report', report)
    void this.#finish(report)
    return report
  }

  #buildReport(first: TriggerRecord, end: number): ShutdownReport {
    return {
      trigger: first.trigger,
      reason: first.reason,
      start: first.at,
      deadline: this.#deadline as number,
      end,
      durationMs: end - first.at,
      exitCode: exitCodeFor(first.trigger, this.#completed, this.#runErrors),
      triggers: [...this.#triggers],
      phases: [...this.#completed],
      errors: [...this.#runErrors],
    }
  }

  async #runPhase(phase: Phase, end: number): Promise<PhaseReport> {
    const { clock, drainDelayMs, logger } = this.#options
    this.#startedPhases.add(phase)
    const start = clock.now()
    // Last registered first, as with avvio's close handlers: what was set up last is torn down first.
    const tasks = [...this.#tasks.values()].filter((task) => task.phase === phase).reverse()
    const all = [...this.#tasks.values()]
    const reserved = reservedFor(phase, all, drainDelayMs)
    const later = PHASES.slice(PHASES.indexOf(phase) + 1).reduce((sum, p) => sum + reservedFor(p, all, 0), 0)
    // The drain delay is never shortened to make room: cutting it would send requests to a replica the
    // endpoints still point at after it stopped serving. Later phases squeeze instead.
    const cutoff =
      phase === 'readiness'
        ? Math.max(phaseCutoff(start, end, reserved, later), Math.min(start + drainDelayMs, end))
        : phaseCutoff(start, end, reserved, later)
    const budgetMs = Math.round(cutoff - start)
    const names = tasks.map((task) => task.name)
    this.#emitter.emit('phaseStart', { phase, start, budgetMs, tasks: names })
    if (tasks.length > 0 || phase === 'readiness')
      logger.info({ event: 'phase.start', phase, budgetMs, tasks: names }, `phase ${phase} started`)

    const runs = tasks.map((task) =>
      cutoff - start < 1 && task.timeoutMs > 0 ? this.#skip(task, start) : this.#runTask(task, cutoff),
    )
    if (phase === 'readiness') await sleep(clock, Math.min(drainDelayMs, cutoff - start)).promise
    const taskReports = await Promise.all(runs)

    const report: PhaseReport = {
      name: phase,
      outcome: worstOutcome(taskReports.map((task) => task.outcome)),
      start,
      durationMs: clock.now() - start,
      budgetMs,
      tasks: taskReports,
    }
    this.#emitter.emit('phaseEnd', report)
    if (tasks.length > 0 || phase === 'readiness')
      logger.info(
        { event: 'phase.end', phase, outcome: report.outcome, durationMs: report.durationMs },
        `phase ${phase} ended: ${report.outcome}`,
      )
    return report
  }

  async #skip(task: Task, start: number): Promise<TaskReport> {
    const error = new TaskSkippedError(task.name)
    this.#abandon(task, { outcome: 'skipped', error })
    return this.#taskEnded(task, start, 0, 'skipped', error)
  }

  /** Calls a task's `onAbandon` once; a throwing hook is logged and ignored. */
  #abandon(task: Task, event: AbandonEvent): void {
    if (this.#abandoned.has(task)) return
    this.#abandoned.add(task)
    if (!task.onAbandon) return
    try {
      task.onAbandon(event)
    } catch (error) {
      this.#options.logger.warn(
        { event: 'abandon.error', task: task.name, error: errorMessage(error) },
        `onAbandon of task ${task.name} threw; ignored`,
      )
    }
  }

  /** The process is about to exit: every task that has not settled is given up. */
  #abandonAll(why: string): void {
    for (const { task } of this.#running.values())
      this.#abandon(task, { outcome: 'exit', error: new TaskAbandonedError(task.name, why) })
    for (const task of this.#tasks.values())
      if (!this.#startedPhases.has(task.phase))
        this.#abandon(task, { outcome: 'skipped', error: new TaskSkippedError(task.name) })
  }

  #runTask(task: Task, cutoff: number): Promise<TaskReport> {
    const { clock } = this.#options
    const start = clock.now()
    const deadline = Math.min(start + task.timeoutMs, cutoff)
    const budgetMs = Math.max(0, deadline - start)
    const cutByPhase = cutoff < start + task.timeoutMs
    const controller = new AbortController()
    const context: TaskContext = {
      name: task.name,
      phase: task.phase,
      deadline,
      remainingMs: () => Math.max(0, deadline - clock.now()),
      stopAt: () => deadline - Math.min(DEFAULTS.stopMarginMs, Math.max(0, deadline - clock.now()) / 10),
      clock,
    }
    this.#running.set(task.name, { task, start, budgetMs })
    this.#stallWatch?.running([...this.#running.keys()])
    this.#emitter.emit('taskStart', { name: task.name, phase: task.phase, start, budgetMs })

    return new Promise<TaskReport>((resolve) => {
      let settled = false
      let syncMs = 0
      const settle = (outcome: TaskOutcome, error?: unknown) => {
        if (settled) return
        settled = true
        clock.clearTimeout(timer)
        this.#running.delete(task.name)
        this.#stallWatch?.running([...this.#running.keys()])
        // Settling after the deadline without the timeout having fired means the event loop was blocked
        // (no timer can preempt synchronous code): the task overran, whatever it returned.
        const lateMs = Math.round(clock.now() - deadline)
        if (outcome !== 'timeout' && lateMs >= 1) {
          const overrun = new TaskOverrunError(task.name, Math.round(budgetMs), lateMs, Math.round(syncMs))
          this.#options.logger.error(
            { event: 'task.overrun', task: task.name, phase: task.phase, lateMs, syncMs: Math.round(syncMs) },
            overrun.message,
          )
          outcome = 'timeout'
          error = overrun
          controller.abort(overrun)
        }
        resolve(this.#taskEnded(task, start, budgetMs, outcome, error))
      }
      // This timer is also what keeps the process alive while a task awaits a promise with no handle behind it.
      const timer = clock.setTimeout(() => {
        const error = new TaskTimeoutError(task.name, Math.round(budgetMs), cutByPhase)
        settle('timeout', error)
        controller.abort(error)
        this.#abandon(task, { outcome: 'timeout', error })
      }, budgetMs)
      try {
        const before = clock.now()
        const result = task.run(controller.signal, context)
        syncMs = clock.now() - before
        Promise.resolve(result).then(
          () => settle('ok'),
          (error: unknown) => settle('error', error),
        )
      } catch (error) {
        syncMs = clock.now() - start
        settle('error', error)
      }
    })
  }

  #taskEnded(task: Task, start: number, budgetMs: number, outcome: TaskOutcome, error?: unknown): TaskReport {
    const report: TaskReport = {
      name: task.name,
      phase: task.phase,
      critical: task.critical,
      outcome,
      start,
      durationMs: this.#options.clock.now() - start,
      budgetMs: Math.round(budgetMs),
    }
    if (outcome !== 'ok') {
      report.error = errorMessage(error)
      const code = (error as { code?: unknown } | null)?.code
      if (typeof code === 'string') report.code = code
    }
    this.#emitter.emit('taskEnd', report)
    const level = outcome === 'ok' ? 'info' : task.critical ? 'error' : 'warn'
    this.#options.logger[level](
      {
        event: 'task.end',
        task: task.name,
        phase: task.phase,
        outcome,
        durationMs: report.durationMs,
        critical: task.critical,
        ...(report.error === undefined ? {} : { error: report.error }),
      },
      `task ${task.name}: ${outcome}`,
    )
    return report
  }

  #setState(to: ShutdownState): void {
    const from = this.#state
    if (from === to) return
    this.#state = to
    this.#emitter.emit('state', { from, to })
  }

  async #finish(report: ShutdownReport): Promise<void> {
    if (!this.#options.exit || report.trigger === 'dispose') {
      this.#options.clock.clearTimeout(this.#watchdog)
      return
    }
    while (this.#holds.size > 0) await Promise.all([...this.#holds])
    // One more turn of the event loop, so that whoever awaited the report can act on it first.
    await new Promise((resolve) => setImmediate(resolve))
    const own = this.#lateErrors > 0 ? Math.max(report.exitCode, EXIT_CODES.failed) : report.exitCode
    const processRun = this.#finishProcessRun(own)
    // Another coordinator's run in this process (a module wired on its own) must not be cut short: wait
    // for it — never past this run's watchdog — and exit once, with the worst code of the two.
    if (processRun) {
      await othersFinished(processRun)
      this.#exit(worstExitCode(processRun, own))
      return
    }
    this.#exit(own)
  }

  #finishProcessRun(exitCode: number): ProcessRun | undefined {
    const processRun = this.#processRun
    if (processRun && !this.#runFinished) {
      this.#runFinished = true
      processRun.finish(exitCode)
    }
    return processRun?.run
  }

  #listenRun(event: string, listener: (...args: unknown[]) => void): void {
    process.on(event as NodeJS.Signals, listener as () => void)
    this.#runListeners.push([event, listener])
  }

  #removeRunListeners(): void {
    for (const [event, listener] of this.#runListeners.splice(0)) process.removeListener(event, listener as () => void)
  }

  #onRunError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void {
    const wrapped = new UncaughtDuringShutdownError(origin, error)
    const running = [...this.#running.keys()]
    const code = (error as { code?: unknown } | null)?.code
    this.#options.logger.error(
      {
        event: 'run.error',
        origin,
        error: errorMessage(error),
        stack: error instanceof Error ? error.stack : undefined,
        running,
      },
      `${wrapped.message}; recorded, the shutdown goes on (exit code 1)`,
    )
    if (this.#report) {
      // The report is final; the exit code still tells.
      this.#lateErrors++
      return
    }
    this.#runErrors.push({
      origin,
      at: this.#options.clock.now(),
      error: errorMessage(error),
      ...(typeof code === 'string' ? { code } : {}),
      running,
    })
  }

  #onWatchdog(): void {
    if (this.#exited) return
    const { logger, clock } = this.#options
    if (this.#report) {
      const processRun = this.#processRun?.run
      const othersRunning = processRun !== undefined && this.#runFinished && othersPending(processRun)
      logger.warn(
        { event: 'watchdog', holds: this.#holds.size },
        othersRunning
          ? "deadline reached while another coordinator's run in this process was still going; exiting"
          : 'deadline reached while exit was held (e.g. a /shutdown response); exiting',
      )
      const own = this.#lateErrors > 0 ? Math.max(this.#report.exitCode, EXIT_CODES.failed) : this.#report.exitCode
      this.#exit(othersRunning ? Math.max(worstExitCode(processRun, own), EXIT_CODES.watchdog) : own)
      return
    }
    const now = clock.now()
    logger.error(
      {
        event: 'watchdog',
        running: [...this.#running.values()].map(({ task, start }) => ({ task: task.name, runningMs: now - start })),
        completedPhases: this.#completed.map((phase) => phase.name),
      },
      'deadline reached before the shutdown finished: exiting before SIGKILL',
    )
    this.#exit(EXIT_CODES.watchdog)
  }

  #exit(code: number): void {
    if (this.#exited || !this.#options.exit) return
    this.#exited = true
    this.#options.clock.clearTimeout(this.#watchdog)
    this.#stallWatch?.stop()
    this.#removeRunListeners()
    // One exit per process: another coordinator of this run's cohort may have claimed it already. Claiming
    // gives up every task still running anywhere in the process (their onAbandon hooks run now).
    if (this.#processRun && !claimExit(this.#processRun.run)) return
    const { logger } = this.#options
    logger.info({ event: 'exit', exitCode: code }, `exiting with code ${code}`)
    try {
      logger.flush?.()
    } catch {
      // A logger that cannot flush must not keep the process from exiting.
    }
    this.#options.exit(code)
  }

  #scheduleFitCheck(): void {
    if (this.#fitCheckScheduled) return
    this.#fitCheckScheduled = true
    // After the current synchronous registrations, so one start-up yields one warning with the totals.
    setImmediate(() => {
      this.#fitCheckScheduled = false
      this.#checkFit()
    }).unref()
  }

  #checkFit(): void {
    if (this.#severalWarning !== undefined) {
      const count = this.#severalWarning
      this.#severalWarning = undefined
      this.warn({
        code: 'LAMEDUCK_WARN_SEVERAL_COORDINATORS',
        message:
          `${count} lameduck coordinators handle signals in this process. Each runs its own shutdown on SIGTERM; ` +
          'the process exits once, when every run is done, with the worst exit code. Prefer one coordinator ' +
          'created in one module and imported everywhere (see "One coordinator per process" in the core README).',
        details: { coordinators: count },
      })
    }
    if (this.#run) return
    const plan = this.plan()
    if (plan.fits) {
      this.#warnedTotal = undefined
      return
    }
    if (this.#warnedTotal === plan.totalMs) return
    this.#warnedTotal = plan.totalMs
    const parts = plan.phases
      .filter((p) => p.reservedMs > 0)
      .map((p) => `${p.phase} ${p.reservedMs}`)
      .join(' + ')
    const warning: ShutdownWarning = {
      code: 'LAMEDUCK_WARN_BUDGET_EXCEEDS_GRACE',
      message:
        `declared budgets need ${plan.totalMs} ms (${parts}) but only ${Math.floor(plan.availableMs)} ms fit ` +
        `in gracePeriodMs ${plan.gracePeriodMs} − safetyMarginMs ${plan.safetyMarginMs}; early phases will be cut to ` +
        "keep the later phases' time. Raise terminationGracePeriodSeconds or lower the timeouts.",
      details: { plan },
    }
    this.warn(warning)
  }
}
