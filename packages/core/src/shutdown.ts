import type { BudgetPlan } from './budget.js'
import type { Clock } from './clock.js'
import type { DrainDelayReport } from './drain-delay.js'
import type { LameduckWarningCode } from './errors.js'
import type { ExitFlushSpec } from './exit-flush.js'
import type { HealthChangeEvent, HealthRegistry } from './health.js'
import type { Logger } from './logger.js'
import type { ResolvedOptions } from './options.js'
import type { Phase } from './phases.js'
import type { PhaseReport, ShutdownReport, TaskReport, TriggerKind, TriggerRecord } from './report.js'
import type { StartupRegistry, StartupReport } from './startup.js'
import type { Registration, TaskSpec } from './task.js'

// The coordinator's public shape: what createShutdown() returns and what adapters are written against.

/**
 * `running` until the first trigger; `draining` through `readiness` and `drain`; `stopping` through
 * `flush`, `release`, `close` and `report`; `stopped` once the report is final.
 */
export type ShutdownState = 'running' | 'draining' | 'stopping' | 'stopped'

/** A warning about configuration or a misbehaving observer; also logged. */
export interface ShutdownWarning {
  code: LameduckWarningCode
  message: string
  details?: Record<string, unknown>
}

/** The events of a coordinator, for `shutdown.on(event, listener)`. */
export interface ShutdownEvents {
  state: { from: ShutdownState; to: ShutdownState }
  /** Every trigger; `first` is false for those that joined a run already going. */
  trigger: TriggerRecord & { first: boolean }
  phaseStart: { phase: Phase; start: number; budgetMs: number; tasks: string[] }
  /** The drain delay is over (it ends the `readiness` phase once the phase's own tasks are done too). */
  drainDelayEnd: DrainDelayReport
  phaseEnd: PhaseReport
  taskStart: { name: string; phase: Phase; start: number; budgetMs: number }
  taskEnd: TaskReport
  report: ShutdownReport
  warning: ShutdownWarning
  /** A health check's status changed (its first failure, its recovery): the `health.check` log line. */
  health: HealthChangeEvent
  /**
   * Start-up's state changed: `pending` once a task is registered, then `done` (the `startup.done` log
   * line), `failed` (a task failed or timed out) or `aborted` (a shutdown began; told once every task is).
   */
  startup: StartupReport
}

/** Options of a single `shutdown()` call. */
export interface TriggerOptions {
  /** Recorded as the run's trigger when this call starts it. Default: `'manual'`. */
  trigger?: TriggerKind
}

/** The coordinator returned by {@link createShutdown}. */
export interface Shutdown {
  /** See {@link ShutdownState}. */
  readonly state: ShutdownState
  /** Epoch ms by which the process is gone, fixed at the first trigger; `undefined` before it. */
  readonly deadline: number | undefined
  /** The final report, once `state` is `stopped`. */
  readonly report: ShutdownReport | undefined
  /**
   * The exit code as it stands: `undefined` before the first trigger; during the run, the code the report
   * would carry if the run ended now (1 once the trigger was `fatal`, an error was recorded, a critical task
   * did not succeed, or start-up had failed before the trigger: `EXIT_CODES.failed`); the report's
   * `exitCode` once it is out. For adapters that report the outcome before the report exists (a metrics
   * push, a trace flush in the `report` phase). The process's own exit code can still end higher: an error
   * thrown after the report, the watchdog (124), a second SIGINT (130) — see the README's exit codes.
   */
  readonly exitCode: number | undefined
  /** Resolved timing options, for adapters and docs. */
  readonly config: Readonly<
    Pick<ResolvedOptions, 'gracePeriodMs' | 'safetyMarginMs' | 'drainDelayMs' | 'drainDelay' | 'signals'>
  >
  /** The logger lameduck writes to; adapters log through it too. */
  readonly logger: Logger
  /**
   * The clock the coordinator times everything by (the `clock` option; the system clock by default).
   * Adapters take their budget decisions by it too (the timing helpers of `@lameduck/core/adapter`).
   */
  readonly clock: Clock
  /**
   * The health registry: `health.check(name, fn, { timeoutMs, cacheMs, affects, critical })` registers a
   * check of a dependency for the probes, `health.status(probe)` runs (or reuses) them. See the README.
   */
  readonly health: HealthRegistry
  /**
   * Start-up: `startup.task(name, fn, { timeoutMs })` registers work that must finish before the service
   * is ready; `startup.done()` closes the list and resolves once it has. See the README.
   */
  readonly startup: StartupRegistry
  /**
   * True until the first trigger once start-up is done (every `startup.task` finished; at once with none):
   * what a readiness probe should answer, before its health checks.
   */
  isReady(): boolean
  /**
   * Registers a task. Throws a `ConfigurationError` for an invalid spec or a duplicate name, and
   * `PhaseStartedError` when the task's phase of a running shutdown has already begun.
   * @returns the task's registration: `remove()` (or `using`) unregisters it — a no-op once its phase has
   * started.
   */
  addTask(spec: TaskSpec): Registration
  /**
   * Starts the shutdown, or joins the one already running. Every call, signal and `/shutdown`
   * request gets the same promise and so the same report. Never rejects.
   */
  shutdown(reason?: string, options?: TriggerOptions): Promise<ShutdownReport>
  /** Subscribes to an event; returns the unsubscribe function. A throwing listener is logged and skipped. */
  on<K extends keyof ShutdownEvents>(event: K, listener: (payload: ShutdownEvents[K]) => void): () => void
  /**
   * Delays the process exit until the returned function is called (e.g. until the `/shutdown` response
   * is flushed), never past the deadline.
   */
  holdExit(): () => void
  /**
   * Registers an exit flush: the very last work before the process exits, after the report and the `exit`
   * log line, before the exit function — e.g. `flushPino` waiting for a log transport to write out its
   * buffer. Flushes run side by side, each within its `timeoutMs`, which is reserved out of the grace
   * period; never past the watchdog, which exits without them. With `exit: false` (or `close()`) they run
   * right after the report, before `shutdown()` resolves. Throws `DuplicateTaskError` for a name taken, and
   * `PhaseStartedError` once a run has begun (its time could no longer be reserved).
   */
  addExitFlush(spec: ExitFlushSpec): Registration
  /** How the grace period is shared among the phases with the tasks registered now. */
  plan(): BudgetPlan
  /** Logs a warning and emits it as a `warning` event; for adapters reporting risky configuration. */
  warn(warning: ShutdownWarning): void
  /** Removes the signal and fatal-error handlers; nothing else changes. Idempotent. */
  uninstall(): void
  /** Runs the shutdown (trigger `dispose`) without exiting the process, then uninstalls. */
  close(): Promise<ShutdownReport>
  /** Alias of `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}
