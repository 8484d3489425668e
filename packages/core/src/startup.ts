import { duration, name as nameOption } from './adapter/options.js'
import type { Clock } from './clock.js'
import { DEFAULTS } from './defaults.js'
import {
  DuplicateTaskError,
  describeValue,
  errorFields,
  InvalidOptionError,
  StartupAbortedError,
  StartupClosedError,
  StartupTimeoutError,
} from './errors.js'
import type { Logger } from './logger.js'
import { type Registration, registration } from './task.js'
import { checkOptions } from './validate.js'

// Start-up: the work before a service may take traffic (warm a cache, run migrations, connect a pool).
// Readiness (and `/startupz`) stays down until every start-up task has finished; a failed or timed-out one
// keeps it down (the startupProbe's failureThreshold then restarts the container); a shutdown during
// start-up aborts them, and its report says so.

/**
 * `pending` while a task runs; `done` when all finished; `failed` when one failed or timed out (even if a
 * shutdown aborted the others later); `aborted` when a shutdown aborted it before anything failed.
 */
export type StartupState = 'pending' | 'done' | 'failed' | 'aborted'

export type StartupTaskOutcome = 'running' | 'ok' | 'error' | 'timeout' | 'aborted'

/** What a start-up task receives besides its signal. */
export interface StartupTaskContext {
  name: string
  /** Epoch ms (the coordinator's clock) at which its signal aborts. */
  deadline: number
  clock: Clock
}

/** A start-up task. Its signal aborts at its `timeoutMs`, or when a shutdown begins. */
export type StartupTaskFn = (signal: AbortSignal, context: StartupTaskContext) => unknown

/** Options of `shutdown.startup.task(name, fn, options)`. */
export interface StartupTaskOptions {
  /** How long it may take; past it its signal aborts and start-up has failed. Default: {@link DEFAULTS}`.startup.timeoutMs`. */
  timeoutMs?: number
}

export interface StartupTaskReport {
  name: string
  outcome: StartupTaskOutcome
  /** Epoch ms at which it started. */
  start: number
  /** Until it settled (or now, while it runs). */
  durationMs: number
  timeoutMs: number
  error?: string
  code?: string
}

/** The start-up as it stands: in `shutdown.startup.report()` and, when it had tasks, in the shutdown report. */
export interface StartupReport {
  state: StartupState
  tasks: StartupTaskReport[]
}

/** `shutdown.startup`. */
export interface StartupRegistry {
  /**
   * Registers a start-up task and starts it at once. Throws `DuplicateTaskError` for a name taken,
   * `StartupClosedError` after `done()` or once a shutdown has begun, and the option errors.
   * `remove()` aborts it when it still runs and stops waiting for it; once it has settled, `remove()`
   * changes nothing (a failed start-up stays failed).
   */
  task(name: string, fn: StartupTaskFn, options?: StartupTaskOptions): Registration
  /**
   * No more start-up tasks: later `task()` calls throw. Resolves with the report once every task has
   * settled (at once when there is none). Never rejects; `state` says how it went.
   */
  done(): Promise<StartupReport>
  /** `pending`, `done`, `failed` or `aborted`. `done` with no task registered. */
  readonly state: StartupState
  /** True once every registered start-up task has finished `ok` (true with none). */
  isDone(): boolean
  report(): StartupReport
}

interface StartupTask {
  readonly name: string
  readonly timeoutMs: number
  readonly controller: AbortController
  readonly start: number
  outcome: StartupTaskOutcome
  end: number | undefined
  error?: unknown
  timer: unknown
}

export class Startup implements StartupRegistry {
  readonly #tasks = new Map<string, StartupTask>()
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #isShuttingDown: () => boolean
  readonly #onFailed: (task: StartupTaskReport) => void
  readonly #onChange: (report: StartupReport) => void
  /** The state last told to `onChange`: `done` with no task. */
  #told: StartupState = 'done'
  /** While `abort()` settles the tasks one by one: one change, told once they all are. */
  #quiet = false
  #sealed = false
  #aborted = false
  #waiters: (() => void)[] = []

  constructor(options: {
    clock: Clock
    logger: Logger
    isShuttingDown: () => boolean
    onFailed: (task: StartupTaskReport) => void
    /** The state changed: `pending` once a task is registered, then `done`, `failed` or `aborted`. */
    onChange?: (report: StartupReport) => void
  }) {
    this.#clock = options.clock
    this.#logger = options.logger
    this.#isShuttingDown = options.isShuttingDown
    this.#onFailed = options.onFailed
    this.#onChange = options.onChange ?? (() => {})
  }

  /** Tells `onChange` when the state is another than the one it was last told. */
  #changed(): void {
    if (this.#quiet) return
    const state = this.state
    if (state === this.#told) return
    this.#told = state
    this.#onChange(this.report())
  }

  get hasTasks(): boolean {
    return this.#tasks.size > 0
  }

  task(name: string, fn: StartupTaskFn, options?: StartupTaskOptions): Registration {
    const where = 'startup.task'
    nameOption(`name of ${where}`, name)
    if (typeof fn !== 'function')
      throw new InvalidOptionError(`task "${name}" of ${where}`, `expected a function; got ${describeValue(fn)}`)
    checkOptions(`${where} "${name}"`, options, ['timeoutMs'])
    const timeoutMs = duration(`timeoutMs of ${where} "${name}"`, options?.timeoutMs, DEFAULTS.startup.timeoutMs, {
      positive: true,
    })
    if (this.#tasks.has(name)) throw new DuplicateTaskError(name, 'start-up task')
    if (this.#aborted || this.#isShuttingDown()) throw new StartupClosedError(name, 'a shutdown has begun')
    if (this.#sealed) throw new StartupClosedError(name, 'startup.done() was called')

    const clock = this.#clock
    const start = clock.now()
    const task: StartupTask = {
      name,
      timeoutMs,
      controller: new AbortController(),
      start,
      outcome: 'running',
      end: undefined,
      timer: undefined,
    }
    this.#tasks.set(name, task)
    task.timer = clock.setTimeout(
      () => this.#settle(task, 'timeout', new StartupTimeoutError(name, timeoutMs)),
      timeoutMs,
    )
    const context: StartupTaskContext = { name, deadline: start + timeoutMs, clock }
    let work: Promise<unknown>
    try {
      work = Promise.resolve(fn(task.controller.signal, context))
    } catch (error) {
      work = Promise.reject(error)
    }
    work.then(
      () => this.#settle(task, 'ok'),
      (error: unknown) => this.#settle(task, 'error', error),
    )
    this.#changed()
    return registration(name, () => {
      // Once settled, a task is part of how start-up went: removing it then changes nothing (a failed
      // start-up must not come up because the failed task's handle was disposed).
      if (this.#tasks.get(name) !== task || task.outcome !== 'running') return
      this.#tasks.delete(name)
      clock.clearTimeout(task.timer)
      task.controller.abort(new StartupAbortedError(name, 'its registration was removed'))
      this.#changed()
      this.#wake()
    })
  }

  done(): Promise<StartupReport> {
    this.#sealed = true
    return new Promise((resolve) => {
      const check = () => {
        if (this.#running() === 0) {
          resolve(this.report())
          return true
        }
        return false
      }
      const waiter = () => {
        if (!check()) this.#waiters.push(waiter)
      }
      if (!check()) this.#waiters.push(waiter)
    })
  }

  get state(): StartupState {
    const tasks = [...this.#tasks.values()]
    // A failure came first (a shutdown after it aborts what was left): it is what the start-up died of.
    if (tasks.some((t) => t.outcome === 'error' || t.outcome === 'timeout')) return 'failed'
    if (tasks.some((t) => t.outcome === 'aborted')) return 'aborted'
    if (tasks.some((t) => t.outcome === 'running')) return 'pending'
    return this.#aborted ? 'aborted' : 'done'
  }

  isDone(): boolean {
    return this.state === 'done'
  }

  report(): StartupReport {
    return { state: this.state, tasks: [...this.#tasks.values()].map((t) => this.#describe(t)) }
  }

  /** A shutdown began: every task still running is aborted, and start-up can never be done. */
  abort(): void {
    if (this.#aborted) return
    const pending = [...this.#tasks.values()].filter((t) => t.outcome === 'running')
    // With nothing left to do, start-up was over before the shutdown: it stays `done`.
    if (pending.length === 0) {
      this.#sealed = true
      return
    }
    this.#aborted = true
    this.#quiet = true
    try {
      for (const task of pending) this.#settle(task, 'aborted', new StartupAbortedError(task.name, 'a shutdown began'))
    } finally {
      this.#quiet = false
    }
    this.#changed()
  }

  #running(): number {
    let n = 0
    for (const task of this.#tasks.values()) if (task.outcome === 'running') n++
    return n
  }

  #settle(task: StartupTask, outcome: Exclude<StartupTaskOutcome, 'running'>, error?: unknown): void {
    if (task.outcome !== 'running') return
    task.outcome = outcome
    task.end = this.#clock.now()
    this.#clock.clearTimeout(task.timer)
    if (outcome !== 'ok') {
      task.error = error
      if (outcome !== 'error') task.controller.abort(error)
    }
    if (this.#tasks.get(task.name) === task) {
      const report = this.#describe(task)
      if (outcome === 'ok')
        this.#logger.info(
          { event: 'startup.task', task: task.name, outcome, durationMs: report.durationMs },
          `start-up task ${task.name}: ok`,
        )
      else if (outcome === 'aborted')
        this.#logger.warn(
          { event: 'startup.task', task: task.name, outcome, durationMs: report.durationMs, error: report.error },
          `start-up task ${task.name} aborted: a shutdown began`,
        )
      else this.#onFailed(report)
      if (outcome === 'ok' && this.#running() === 0 && this.state === 'done')
        this.#logger.info({ event: 'startup.done', tasks: this.#tasks.size }, 'start-up done: ready for traffic')
      this.#changed()
    }
    this.#wake()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    // Those still waiting put themselves back.
    for (const waiter of waiters) waiter()
  }

  #describe(task: StartupTask): StartupTaskReport {
    const report: StartupTaskReport = {
      name: task.name,
      outcome: task.outcome,
      start: task.start,
      durationMs: (task.end ?? this.#clock.now()) - task.start,
      timeoutMs: task.timeoutMs,
    }
    return task.outcome === 'ok' || task.outcome === 'running' ? report : { ...report, ...errorFields(task.error) }
  }
}
