import { stopAt, taskWindow } from './budget.js'
import type { Clock } from './clock.js'
import { TaskOverrunError, TaskTimeoutError } from './errors.js'
import type { TaskOutcome } from './report.js'
import type { AbandonEvent, Task, TaskContext } from './task.js'

/** How a task's run ended, for the report. */
export interface TaskSettlement {
  outcome: TaskOutcome
  error?: unknown
  start: number
  budgetMs: number
  /** What the task recorded with `context.detail()`, if anything. */
  details?: Record<string, unknown>
}

/** What running a task needs from the coordinator. */
export interface TaskRunHooks {
  clock: Clock
  /** The task has started (its window is known). */
  started(task: Task, start: number, budgetMs: number): void
  /** The task settled — or was given up at its timeout — before the report is made. */
  settled(task: Task): void
  /** Its budget ran out: call its `onAbandon` (once). */
  abandon(task: Task, event: AbandonEvent): void
  /** It settled after its deadline without its timeout firing (the event loop was blocked). */
  overran(task: Task, error: TaskOverrunError): void
}

/**
 * Runs one task inside its window: its signal aborts and it is given up (outcome `timeout`) at the
 * earlier of its own timeout and the phase's cutoff; a task that settles late because the event loop was
 * blocked is a `timeout` too (an overrun). Never rejects.
 */
export function runTask(task: Task, cutoff: number, hooks: TaskRunHooks): Promise<TaskSettlement> {
  const { clock } = hooks
  const start = clock.now()
  const { deadline, budgetMs, cutByPhase } = taskWindow(start, task.timeoutMs, cutoff)
  const controller = new AbortController()
  let details: Record<string, unknown> | undefined
  let settled = false
  const context: TaskContext = {
    name: task.name,
    phase: task.phase,
    deadline,
    remainingMs: () => Math.max(0, deadline - clock.now()),
    stopAt: () => stopAt(deadline, clock.now()),
    clock,
    detail(fields) {
      if (settled || fields === null || typeof fields !== 'object') return
      details = { ...details, ...fields }
    },
  }
  hooks.started(task, start, budgetMs)

  return new Promise<TaskSettlement>((resolve) => {
    let syncMs = 0
    const settle = (outcome: TaskOutcome, error?: unknown) => {
      if (settled) return
      settled = true
      clock.clearTimeout(timer)
      hooks.settled(task)
      // Settling after the deadline without the timeout having fired means the event loop was blocked
      // (no timer can preempt synchronous code): the task overran, whatever it returned.
      const lateMs = Math.round(clock.now() - deadline)
      if (outcome !== 'timeout' && lateMs >= 1) {
        const overrun = new TaskOverrunError(task.name, Math.round(budgetMs), lateMs, Math.round(syncMs))
        hooks.overran(task, overrun)
        outcome = 'timeout'
        error = overrun
        controller.abort(overrun)
      }
      resolve(
        details === undefined ? { outcome, error, start, budgetMs } : { outcome, error, start, budgetMs, details },
      )
    }
    // This timer is also what keeps the process alive while a task awaits a promise with no handle behind it.
    const timer = clock.setTimeout(() => {
      const error = new TaskTimeoutError(task.name, Math.round(budgetMs), cutByPhase)
      settle('timeout', error)
      controller.abort(error)
      hooks.abandon(task, { outcome: 'timeout', error })
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
