import type { Clock } from './clock.js'
import { DEFAULTS } from './defaults.js'
import { requireDuration } from './duration.js'
import { InvalidOptionError, UnknownPhaseError } from './errors.js'
import { isPhase, PHASES, type Phase } from './phases.js'
import { checkOptions } from './validate.js'

/** What a task's `run` receives besides its AbortSignal. */
export interface TaskContext {
  name: string
  phase: Phase
  /** Epoch ms at which the task's signal aborts and the task is abandoned. */
  deadline: number
  /** Milliseconds left until `deadline` (never negative). */
  remainingMs(): number
  /**
   * Epoch ms at which to stop the task's own work so that it can still report a partial result (e.g.
   * "flushed N, M left") instead of being recorded as a bare timeout: `deadline − min(50 ms, remaining / 10)`.
   */
  stopAt(): number
  /** The coordinator's clock (`shutdown.clock`), for the adapter kit's timing helpers. */
  clock: Clock
  /**
   * Adds `fields` to the task's entry in the report (`details`), merged over what earlier calls added:
   * what the task did (counts, the response of an external endpoint), for the report that outlives the
   * process. Plain JSON values only; calls after the task settled are ignored.
   */
  detail(fields: Record<string, unknown>): void
}

/**
 * What registering returns, for a task and for every adapter (`drainHttpServer`, `closePool`, …): its
 * name as it appears in the report, and `remove()` to unregister it — idempotent, a no-op once its
 * phase has started. `using registration = …` removes it at the end of the scope.
 */
export interface Registration {
  /** The task's name (the first, when the registration has several). */
  readonly name: string
  /** Unregisters. Idempotent; does nothing once the phase has started (the run keeps what it began with). */
  remove(): void
  [Symbol.dispose](): void
}

/** Makes a {@link Registration} from the function that undoes it (called at most once). */
export function registration(name: string, undo: () => void): Registration {
  let removed = false
  const remove = () => {
    if (removed) return
    removed = true
    undo()
  }
  return { name, remove, [Symbol.dispose]: remove }
}

/** A unit of shutdown work. */
export interface TaskSpec {
  /** Unique among the coordinator's tasks; shown in logs and the report. */
  name: string
  /** When it runs. Default: {@link DEFAULTS}`.phase`. */
  phase?: Phase
  /**
   * Its time budget. Past it the task's signal is aborted and the task abandoned (outcome `timeout`).
   * It is also the time reserved for it when earlier phases overrun. Default: {@link DEFAULTS}`.taskTimeoutMs`.
   */
  timeoutMs?: number
  /** Whether its failure makes the exit code non-zero. Default: {@link DEFAULTS}`.critical`. */
  critical?: boolean
  /**
   * Starts only once every other task of its phase has settled (or been given up at its timeout): the
   * last word of the `report` phase, e.g. a telemetry flush after every other task emitted what it had.
   * Tasks with `last` run side by side with each other. The phase reserves the longest `last` task's
   * `timeoutMs` on top of the longest other one's. Default: `false`.
   */
  last?: boolean
  /**
   * The work. May be sync or async; throwing, rejecting (with anything) or timing out is recorded,
   * never stops the run. Watch `signal` to stop early when the budget runs out.
   */
  run: (signal: AbortSignal, context: TaskContext) => unknown
  /**
   * Called once, synchronously, when the coordinator gives up on the task before it settled:
   * `skipped` (it never ran: no time was left, or the process exits before its phase),
   * `timeout` (its budget ran out; right after its signal was aborted), or `exit` (the process exits —
   * watchdog, second SIGINT, another coordinator's exit — while it still runs). Always before the exit.
   * For work that must be handed over when it cannot finish, e.g. a cache giving its unwritten entries
   * to `onUnflushed`. A throw is logged and ignored.
   */
  onAbandon?: (event: AbandonEvent) => void
}

/** What {@link TaskSpec.onAbandon} receives. */
export interface AbandonEvent {
  outcome: 'skipped' | 'timeout' | 'exit'
  error: Error
}

export interface Task {
  readonly name: string
  readonly phase: Phase
  readonly timeoutMs: number
  readonly critical: boolean
  readonly last: boolean
  readonly run: TaskSpec['run']
  readonly onAbandon: TaskSpec['onAbandon']
}

export function normalizeTask(spec: TaskSpec): Task {
  if (spec === null || typeof spec !== 'object') throw new InvalidOptionError('task', 'expected a task object')
  checkOptions('addTask', spec, ['name', 'phase', 'timeoutMs', 'critical', 'last', 'run', 'onAbandon'])
  if (typeof spec.name !== 'string' || spec.name.trim() === '')
    throw new InvalidOptionError('task.name', 'expected a non-empty string')
  if (typeof spec.run !== 'function')
    throw new InvalidOptionError(`task "${spec.name}".run`, `expected a function, got ${typeof spec.run}`)
  if (spec.onAbandon !== undefined && typeof spec.onAbandon !== 'function')
    throw new InvalidOptionError(`task "${spec.name}".onAbandon`, `expected a function, got ${typeof spec.onAbandon}`)
  const phase = spec.phase === undefined ? DEFAULTS.phase : spec.phase
  if (!isPhase(phase)) throw new UnknownPhaseError(phase, PHASES)
  if (spec.critical !== undefined && typeof spec.critical !== 'boolean')
    throw new InvalidOptionError(`task "${spec.name}".critical`, 'expected a boolean')
  if (spec.last !== undefined && typeof spec.last !== 'boolean')
    throw new InvalidOptionError(`task "${spec.name}".last`, 'expected a boolean')
  return {
    name: spec.name,
    phase,
    timeoutMs: requireDuration(
      `task "${spec.name}".timeoutMs`,
      spec.timeoutMs === undefined ? DEFAULTS.taskTimeoutMs : spec.timeoutMs,
    ),
    critical: spec.critical ?? DEFAULTS.critical,
    last: spec.last ?? false,
    run: spec.run,
    onAbandon: spec.onAbandon,
  }
}
