import type { KeptAlive } from './alive.js'
import { EXIT_CODES } from './defaults.js'
import type { DrainDelayReport } from './drain-delay.js'
import type { Phase } from './phases.js'
import type { StartupReport } from './startup.js'

/** How a run was started. `http` is the preStop `/shutdown` endpoint; `dispose` is `await using`/`close()`. */
export type TriggerKind = 'signal' | 'http' | 'manual' | 'fatal' | 'dispose'

export type TaskOutcome = 'ok' | 'error' | 'timeout' | 'skipped'

export interface TaskReport {
  name: string
  phase: Phase
  critical: boolean
  outcome: TaskOutcome
  /** Epoch ms at which the task started (or would have, when skipped). */
  start: number
  durationMs: number
  /** The task's time budget as it ran: its `timeoutMs`, or less when the phase was cut. */
  budgetMs: number
  /** Message of what the task threw or rejected with, or of its timeout. */
  error?: string
  /** Stable code of the error when it had one. */
  code?: string
  /** What the task recorded of what it did (`context.detail()`), when it recorded anything. */
  details?: Record<string, unknown>
}

export interface PhaseReport {
  name: Phase
  /** `ok` when every task succeeded (or there was none); otherwise the worst task outcome. */
  outcome: TaskOutcome
  start: number
  durationMs: number
  /** Time the phase was allowed, after reserving later phases' budgets. */
  budgetMs: number
  tasks: TaskReport[]
}

export interface TriggerRecord {
  trigger: TriggerKind
  reason: string
  at: number
}

/** An uncaught exception or unhandled rejection that happened during the run. */
export interface RunErrorRecord {
  origin: 'uncaughtException' | 'unhandledRejection'
  /** Epoch ms. */
  at: number
  error: string
  /** Stable code of the thrown error when it had one. */
  code?: string
  /** Tasks running when it happened (it may come from any of them, or from elsewhere). */
  running: string[]
}

/** What happened during a shutdown. Plain data: `JSON.stringify` gives the `/shutdown` response body. */
export interface ShutdownReport {
  /** What started the run. Later triggers that joined it are listed in `triggers`. */
  trigger: TriggerKind
  reason: string
  /** Epoch ms of the first trigger. */
  start: number
  /** Epoch ms by which the process is gone: `start + gracePeriodMs - safetyMarginMs`. */
  deadline: number
  /** Epoch ms at which the last phase ended. Later than `deadline` only when the event loop was blocked. */
  end: number
  durationMs: number
  /** 0 when every critical task succeeded and nothing threw uncaught during the run; see `EXIT_CODES`. */
  exitCode: number
  /** Every trigger in arrival order, the first included. */
  triggers: TriggerRecord[]
  phases: PhaseReport[]
  /** How long the drain delay (the `readiness` phase) lasted and why it ended. */
  drainDelay: DrainDelayReport
  /** Uncaught exceptions and unhandled rejections during the run; each makes the exit code 1. */
  errors: RunErrorRecord[]
  /**
   * What still kept the event loop alive when the run ended — only when lameduck does not end the process
   * then: `exit: false`, or the exit held (`holdExit()`). Why a process does not exit.
   */
  keptAlive?: KeptAlive
  /**
   * The start-up (`shutdown.startup`), when it had tasks: a run that began during it lists its tasks as
   * `aborted` (state `aborted`: an orderly shutdown, exit code 0 if nothing else failed). A start-up task
   * that failed or timed out before the trigger (state `failed`) makes the exit code 1.
   */
  startup?: StartupReport
}

const severity: Record<TaskOutcome, number> = { ok: 0, skipped: 1, timeout: 2, error: 3 }

/** The worst of task outcomes (`error` > `timeout` > `skipped` > `ok`): a phase's outcome from its tasks'. */
export function worstOutcome(outcomes: Iterable<TaskOutcome>): TaskOutcome {
  let worst: TaskOutcome = 'ok'
  for (const outcome of outcomes) if (severity[outcome] > severity[worst]) worst = outcome
  return worst
}

/**
 * The exit code of a run, from what is known of it: 1 for a `fatal` trigger, an error during the run, a
 * start-up that failed before the trigger, or a critical task that did not succeed; 0 otherwise.
 */
export function exitCodeFor(
  trigger: TriggerKind,
  tasks: readonly TaskReport[],
  errors: readonly RunErrorRecord[] = [],
  startupFailed = false,
): number {
  if (trigger === 'fatal' || errors.length > 0 || startupFailed) return EXIT_CODES.failed
  const failed = tasks.some((task) => task.critical && task.outcome !== 'ok')
  return failed ? EXIT_CODES.failed : EXIT_CODES.ok
}
