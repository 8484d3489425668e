import { keptAlive, summarizeKeptAlive } from './alive.js'
import { type BudgetPlan, noTimeFor, phaseWindow, planBudget, runWindow } from './budget.js'
import type { Clock } from './clock.js'
import { DEFAULTS, EXIT_CODES } from './defaults.js'
import { type DrainDelayReport, TRAFFIC_SOURCE, type TrafficFeed, TrafficLog } from './drain-delay.js'
import { Emitter } from './emitter.js'
import {
  DuplicateTaskError,
  errorFields,
  errorMessage,
  PhaseStartedError,
  TaskAbandonedError,
  TaskSkippedError,
  UncaughtDuringShutdownError,
} from './errors.js'
import { ExitPath } from './exit.js'
import {
  type ExitFlush,
  type ExitFlushSpec,
  exitFlushReserveMs,
  normalizeExitFlush,
  runExitFlushes,
} from './exit-flush.js'
import { fitWarning, severalCoordinatorsWarning } from './fit-check.js'
import { Health, type HealthRegistry } from './health.js'
import { logEvents } from './log-events.js'
import type { Logger } from './logger.js'
import { type ResolvedOptions, resolveOptions, type ShutdownOptions } from './options.js'
import { PHASES, type Phase } from './phases.js'
import { countInstalled } from './process-runs.js'
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
import { runTask } from './run-task.js'
import type { Shutdown, ShutdownEvents, ShutdownState, ShutdownWarning, TriggerOptions } from './shutdown.js'
import { Startup, type StartupRegistry } from './startup.js'
import { type AbandonEvent, normalizeTask, type Registration, registration, type Task, type TaskSpec } from './task.js'
import { terminationSummary, writeTerminationLog } from './termination-log.js'

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

// The coordinator sequences a run: triggers → phases in order → tasks of a phase side by side → report →
// exit. The arithmetic lives in budget.ts, running one task in run-task.ts, the exit path (holds, watchdog,
// other coordinators of the process) in exit.ts, the run's log in log-events.ts (a listener of the events).
class Coordinator implements Shutdown {
  readonly #options: ResolvedOptions
  readonly #emitter: Emitter<ShutdownEvents>
  readonly #exitPath: ExitPath
  readonly #tasks = new Map<string, Task>()
  readonly #startedPhases = new Set<Phase>()
  readonly #triggers: TriggerRecord[] = []
  readonly #running = new Map<string, { task: Task; start: number }>()
  readonly #completed: PhaseReport[] = []
  /** Every task's report so far, phase by phase as they end: the provisional exit code reads them. */
  readonly #taskReports: TaskReport[] = []
  readonly #abandoned = new WeakSet<Task>()
  readonly #runErrors: RunErrorRecord[] = []
  /** Process listeners for the coordinator's life (signals, fatal errors), and for one run (errors during it). */
  readonly #listeners: [string, (...args: unknown[]) => void][] = []
  readonly #runListeners: [string, (...args: unknown[]) => void][] = []
  #state: ShutdownState = 'running'
  #run: Promise<ShutdownReport> | undefined
  #report: ShutdownReport | undefined
  #deadline: number | undefined
  #sigints = 0
  #fitCheckScheduled = false
  #warnedTotal: number | undefined
  #counted = false
  #severalWarning: number | undefined
  readonly #traffic: TrafficLog
  readonly #exitFlushes = new Map<string, ExitFlush>()
  #drainDelay: DrainDelayReport | undefined
  readonly #health: Health
  readonly #startup: Startup

  constructor(options: ResolvedOptions) {
    this.#options = options
    this.#health = new Health(options.clock, options.logger, (event) => this.#emitter.emit('health', event))
    this.#startup = new Startup({
      clock: options.clock,
      logger: options.logger,
      isShuttingDown: () => this.#run !== undefined,
      onFailed: (task) =>
        this.warn({
          code: 'LAMEDUCK_WARN_STARTUP_FAILED',
          message:
            `start-up task "${task.name}" ${task.outcome === 'timeout' ? 'timed out' : 'failed'}: ${task.error}; ` +
            'readiness and /startupz stay down (the startupProbe restarts the container)',
          details: { task: task.name, outcome: task.outcome, durationMs: task.durationMs, errorCode: task.code },
        }),
      onChange: (report) => this.#emitter.emit('startup', report),
    })
    this.#traffic = new TrafficLog(options.clock)
    this.#emitter = new Emitter((event, error) =>
      options.logger.warn(
        { event: 'listener.error', listenerOf: String(event), error: errorMessage(error) },
        `a "${String(event)}" listener threw; ignored`,
      ),
    )
    logEvents(this.#emitter, options.logger)
    this.#exitPath = new ExitPath({
      exit: options.exit,
      logger: options.logger,
      clock: options.clock,
      abandonAll: (why) => this.#abandonAll(why),
      describeRun: () => {
        const now = options.clock.now()
        return {
          running: [...this.#running.values()].map(({ task, start }) => ({ task: task.name, runningMs: now - start })),
          completedPhases: this.#completed.map((phase) => phase.name),
        }
      },
      beforeExit: () => this.#removeListeners(this.#runListeners),
      lastWords: (code) => this.#writeTerminationLog(code),
      flush: (until) => this.#flushAtExit(until),
    })
    for (const signal of options.signals) this.#listen(this.#listeners, signal, () => this.#onSignal(signal))
    if (options.signals.length > 0) {
      this.#counted = true
      const installed = countInstalled(1)
      if (installed > 1) this.#severalWarning = installed
    }
    if (options.fatalErrors) {
      this.#listen(this.#listeners, 'uncaughtException', (error: unknown, origin: unknown) =>
        this.#onFatal(error, String(origin)),
      )
      this.#listen(this.#listeners, 'unhandledRejection', (reason: unknown) =>
        this.#onFatal(reason, 'unhandledRejection'),
      )
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

  get exitCode(): number | undefined {
    if (this.#report) return this.#report.exitCode
    const first = this.#triggers[0]
    return first === undefined ? undefined : this.#exitCodeSoFar(first)
  }

  get config() {
    const { gracePeriodMs, safetyMarginMs, drainDelayMs, drainDelay, signals } = this.#options
    return { gracePeriodMs, safetyMarginMs, drainDelayMs, drainDelay: { ...drainDelay }, signals }
  }

  get logger(): Logger {
    return this.#options.logger
  }

  get clock(): Clock {
    return this.#options.clock
  }

  get health(): HealthRegistry {
    return this.#health
  }

  get startup(): StartupRegistry {
    return this.#startup
  }

  isReady(): boolean {
    return this.#state === 'running' && this.#startup.isDone()
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
    return this.#exitPath.hold()
  }

  addExitFlush(spec: ExitFlushSpec): Registration {
    const flush = normalizeExitFlush(spec)
    if (this.#exitFlushes.has(flush.name)) throw new DuplicateTaskError(flush.name)
    // Its time is taken out of the run's window at the first trigger: one added later would have none.
    if (this.#run) throw new PhaseStartedError(flush.name, 'report')
    this.#exitFlushes.set(flush.name, flush)
    this.#scheduleFitCheck()
    return registration(flush.name, () => {
      if (this.#exitFlushes.get(flush.name) === flush && !this.#run) {
        this.#exitFlushes.delete(flush.name)
        this.#scheduleFitCheck()
      }
    })
  }

  plan(): BudgetPlan {
    const { gracePeriodMs, safetyMarginMs, drainDelay } = this.#options
    const flushMs = exitFlushReserveMs(this.#exitFlushes.values())
    return planBudget(this.#tasks.values(), gracePeriodMs, safetyMarginMs, drainDelay, flushMs)
  }

  /** The adapter kit's `trafficSource()`: adapters that see connections feed the adaptive drain delay. */
  [TRAFFIC_SOURCE](): TrafficFeed {
    const traffic = this.#traffic
    traffic.sources++
    let removed = false
    return {
      arrived: () => {
        if (!removed) traffic.arrived()
      },
      remove: () => {
        if (removed) return
        removed = true
        traffic.sources--
      },
    }
  }

  warn(warning: ShutdownWarning): void {
    this.#emitter.emit('warning', warning)
  }

  uninstall(): void {
    this.#removeListeners(this.#listeners)
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

  // ——— triggers ———

  #onSignal(signal: NodeJS.Signals): void {
    if (signal === 'SIGINT' && ++this.#sigints >= 2 && this.#run && !this.#exitPath.exited) {
      this.#options.logger.warn({ event: 'exit.forced', signal }, 'second SIGINT: exiting now')
      this.#exitPath.exit(EXIT_CODES.forced)
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
    if (first) this.#run = this.#execute(record)
    this.#emitter.emit('trigger', { ...record, first })
    return this.#run as Promise<ShutdownReport>
  }

  // ——— the run ———

  async #execute(first: TriggerRecord): Promise<ShutdownReport> {
    const { gracePeriodMs, safetyMarginMs, clock } = this.#options
    const flushMs = exitFlushReserveMs(this.#exitFlushes.values())
    const { deadline, end, watchdogAt } = runWindow(first.at, gracePeriodMs, safetyMarginMs, flushMs)
    this.#deadline = deadline
    const ownsExit = this.#options.exit !== undefined && first.trigger !== 'dispose'
    this.#exitPath.arm(ownsExit, watchdogAt)
    // From the trigger on, an error thrown anywhere (a timer in a flush task, a client's error event) is
    // recorded and the run goes on: crashing now would skip release and close and leave no report.
    // With `fatalErrors: true` the handlers are installed already and do the same once a run is going.
    if (!this.#options.fatalErrors) {
      this.#listen(this.#runListeners, 'uncaughtException', (error: unknown) =>
        this.#onRunError(error, 'uncaughtException'),
      )
      this.#listen(this.#runListeners, 'unhandledRejection', (reason: unknown) =>
        this.#onRunError(reason, 'unhandledRejection'),
      )
    }

    // Not ready from the very moment of the trigger: the readiness probe must fail at once. A start-up
    // still going is aborted: readiness never comes up.
    this.#startup.abort()
    this.#setState('draining')
    // Let the caller's synchronous code (and the trigger event) finish before the first phase starts.
    await Promise.resolve()
    for (const phase of PHASES) {
      if (phase === 'flush') this.#setState('stopping')
      this.#completed.push(await this.#runPhase(phase, end))
    }
    const report = this.#buildReport(first, clock.now())
    // lameduck does not end the process now: say what keeps it alive, in the report and (if it is still
    // alive a moment later) in the log.
    const exitDisabled = !ownsExit && first.trigger !== 'dispose'
    if (exitDisabled || this.#exitPath.held) report.keptAlive = keptAlive()
    if (exitDisabled) this.#watchKeptAlive()
    this.#report = report
    this.#exitPath.reported(report)
    if (report.end > report.deadline)
      this.#options.logger.error(
        { event: 'deadline.missed', lateMs: report.end - report.deadline },
        `the run ended ${report.end - report.deadline} ms after its deadline: the event loop was blocked`,
      )
    if (!ownsExit) {
      // Nobody here exits the process: the summary is written now, for the application's own exit.
      if (first.trigger !== 'dispose') this.#writeTerminationLog(report.exitCode)
      this.#exitPath.release(report.exitCode)
      this.#removeListeners(this.#runListeners)
    }
    this.#setState('stopped')
    this.#emitter.emit('report', report)
    // Nobody here exits: the exit flushes run now, so that what the report line left buffered is written
    // before the caller (the application's own exit) gets the report.
    if (!ownsExit) await this.#flushAtExit(deadline)
    void this.#exitPath.finish(report)
    return report
  }

  /** With `exit: false`: if the process is still alive a moment after the run (an unref'd timer fires only then), log why. */
  #watchKeptAlive(): void {
    const timer = setTimeout(() => {
      const alive = keptAlive()
      this.#options.logger.warn(
        { event: 'process.alive', afterMs: DEFAULTS.keptAliveLogMs, keptAlive: alive },
        `the shutdown finished ${DEFAULTS.keptAliveLogMs} ms ago (exit: false) and the process is still alive: ` +
          summarizeKeptAlive(alive),
      )
    }, DEFAULTS.keptAliveLogMs)
    timer.unref()
  }

  #flushAtExit(until: number): Promise<void> {
    const { clock, logger } = this.#options
    return runExitFlushes([...this.#exitFlushes.values()], until, clock, logger)
  }

  /**
   * The exit code from what is known now. A start-up task that failed or timed out before the trigger: the
   * service never started, no clean exit. One this run aborted is not: a rollout stopping a pod that is
   * still starting is an orderly shutdown.
   */
  #exitCodeSoFar(first: TriggerRecord): number {
    const startupFailed = this.#startup.state === 'failed'
    return exitCodeFor(first.trigger, this.#taskReports, this.#runErrors, startupFailed)
  }

  #buildReport(first: TriggerRecord, end: number): ShutdownReport {
    const startup = this.#startup.hasTasks ? this.#startup.report() : undefined
    return {
      trigger: first.trigger,
      reason: first.reason,
      start: first.at,
      deadline: this.#deadline as number,
      end,
      durationMs: end - first.at,
      exitCode: this.#exitCodeSoFar(first),
      triggers: [...this.#triggers],
      phases: [...this.#completed],
      drainDelay: this.#drainDelay as DrainDelayReport,
      errors: [...this.#runErrors],
      ...(startup === undefined ? {} : { startup }),
    }
  }

  async #runPhase(phase: Phase, end: number): Promise<PhaseReport> {
    const { clock, drainDelayMs, drainDelay } = this.#options
    this.#startedPhases.add(phase)
    const start = clock.now()
    // Last registered first, as with avvio's close handlers: what was set up last is torn down first.
    const tasks = [...this.#tasks.values()].filter((task) => task.phase === phase).reverse()
    const { cutoff, budgetMs } = phaseWindow(phase, start, end, [...this.#tasks.values()], drainDelayMs)
    this.#emitter.emit('phaseStart', { phase, start, budgetMs, tasks: tasks.map((task) => task.name) })

    const runAll = (group: Task[], at: number) =>
      group.map((task) => (noTimeFor(task, at, cutoff) ? this.#skip(task, at) : this.#run1(task, cutoff)))
    const runs = runAll(
      tasks.filter((task) => !task.last),
      start,
    )
    if (phase === 'readiness') {
      this.#drainDelay = await this.#traffic.wait(drainDelay, start, cutoff, () => this.#unfed())
      this.#emitter.emit('drainDelayEnd', this.#drainDelay)
    }
    const taskReports = await Promise.all(runs)
    // The `last` tasks: once every other task of the phase has settled or been given up.
    const last = tasks.filter((task) => task.last)
    if (last.length > 0) taskReports.push(...(await Promise.all(runAll(last, clock.now()))))

    const report: PhaseReport = {
      name: phase,
      outcome: worstOutcome(taskReports.map((task) => task.outcome)),
      start,
      durationMs: clock.now() - start,
      budgetMs,
      tasks: taskReports,
    }
    this.#emitter.emit('phaseEnd', report)
    return report
  }

  async #run1(task: Task, cutoff: number): Promise<TaskReport> {
    const { outcome, error, start, budgetMs, details } = await runTask(task, cutoff, {
      clock: this.#options.clock,
      started: (t, at, budget) => {
        this.#running.set(t.name, { task: t, start: at })
        this.#exitPath.running([...this.#running.keys()])
        this.#emitter.emit('taskStart', { name: t.name, phase: t.phase, start: at, budgetMs: budget })
      },
      settled: (t) => {
        this.#running.delete(t.name)
        this.#exitPath.running([...this.#running.keys()])
      },
      abandon: (t, event) => this.#abandon(t, event),
      overran: (t, overrun) =>
        this.#options.logger.error(
          {
            event: 'task.overrun',
            task: t.name,
            phase: t.phase,
            lateMs: overrun.overrunMs,
            syncMs: overrun.syncMs,
          },
          overrun.message,
        ),
    })
    return this.#taskEnded(task, start, budgetMs, outcome, error, details)
  }

  async #skip(task: Task, start: number): Promise<TaskReport> {
    const error = new TaskSkippedError(task.name)
    this.#abandon(task, { outcome: 'skipped', error })
    return this.#taskEnded(task, start, 0, 'skipped', error)
  }

  #taskEnded(
    task: Task,
    start: number,
    budgetMs: number,
    outcome: TaskOutcome,
    error?: unknown,
    details?: Record<string, unknown>,
  ): TaskReport {
    const report: TaskReport = {
      name: task.name,
      phase: task.phase,
      critical: task.critical,
      outcome,
      start,
      durationMs: this.#options.clock.now() - start,
      budgetMs: Math.round(budgetMs),
    }
    if (outcome !== 'ok') Object.assign(report, errorFields(error))
    if (details !== undefined) report.details = details
    this.#taskReports.push(report)
    this.#emitter.emit('taskEnd', report)
    return report
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

  #setState(to: ShutdownState): void {
    const from = this.#state
    if (from === to) return
    this.#state = to
    this.#emitter.emit('state', { from, to })
  }

  #onRunError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void {
    const wrapped = new UncaughtDuringShutdownError(origin, error)
    const running = [...this.#running.keys()]
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
      this.#exitPath.lateError()
      return
    }
    this.#runErrors.push({
      origin,
      at: this.#options.clock.now(),
      ...errorFields(error),
      running,
    })
  }

  // ——— process listeners ———

  #listen(into: [string, (...args: unknown[]) => void][], event: string, listener: (...args: unknown[]) => void): void {
    process.on(event as NodeJS.Signals, listener as () => void)
    into.push([event, listener])
  }

  #removeListeners(from: [string, (...args: unknown[]) => void][]): void {
    for (const [event, listener] of from.splice(0)) process.removeListener(event, listener as () => void)
  }

  // ——— start-up checks ———

  #writeTerminationLog(exitCode: number): void {
    const path = this.#options.terminationLog
    if (path === undefined) return
    const report = this.#report
    const text = report
      ? terminationSummary({ report, exitCode })
      : terminationSummary({
          exitCode,
          watchdog:
            exitCode === EXIT_CODES.forced
              ? 'forced by a second SIGINT before the shutdown finished'
              : 'the watchdog ended the run at its deadline, before the shutdown finished',
          running: [...this.#running.keys()],
        })
    writeTerminationLog(path, text, this.#options.logger)
  }

  #unfed(): void {
    const { minMs, maxMs } = this.#options.drainDelay
    this.warn({
      code: 'LAMEDUCK_WARN_DRAIN_DELAY_UNFED',
      message:
        `the drain delay is adaptive, but nothing reports traffic to it (no drainHttpServer or other adapter ` +
        `that sees connections is registered): it waits its maxMs (${maxMs} ms) in full. Register the ` +
        `server's drain, or give drainDelayMs a number.`,
      details: { minMs, maxMs },
    })
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
      this.warn(severalCoordinatorsWarning(this.#severalWarning))
      this.#severalWarning = undefined
    }
    if (this.#run) return
    const plan = this.plan()
    if (plan.fits) {
      this.#warnedTotal = undefined
      return
    }
    if (this.#warnedTotal === plan.totalMs) return
    this.#warnedTotal = plan.totalMs
    this.warn(fitWarning(plan))
  }
}
