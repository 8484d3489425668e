import { DEFAULTS } from './defaults.js'
import type { ResolvedDrainDelay } from './drain-delay.js'
import { PHASES, type Phase } from './phases.js'
import type { Task } from './task.js'

/** The time a shutdown has, and how it is shared among the phases. */
export interface BudgetPlan {
  gracePeriodMs: number
  safetyMarginMs: number
  /** The longest the drain delay can last (an adaptive delay's `maxMs`): what the budget counts. */
  drainDelayMs: number
  /** The drain delay as configured: fixed, or adaptive with `minMs`, `maxMs` and `quietMs`. */
  drainDelay: ResolvedDrainDelay
  /** From the first trigger to the end of the last phase: grace − margin − the exit reserve − `exitFlushMs`. */
  availableMs: number
  /** The time kept for the exit flushes (`addExitFlush`) between the report and the exit: the longest one's. */
  exitFlushMs: number
  /**
   * Per phase, the time reserved for it: its longest task `timeoutMs` (at least `drainDelayMs` for readiness),
   * plus its longest `last` task's.
   */
  phases: { phase: Phase; reservedMs: number }[]
  /** Sum of the reserved times: what a run takes when every task uses its whole budget. */
  totalMs: number
  /** Whether `totalMs` fits in `availableMs`. When it does not, early phases are cut to keep later phases' time. */
  fits: boolean
}

export function exitReserveMs(gracePeriodMs: number, safetyMarginMs: number): number {
  return Math.min(DEFAULTS.exitReserveMs, (gracePeriodMs - safetyMarginMs) / 10)
}

/**
 * The time a phase reserves: its longest task's `timeoutMs` (at least `drainDelayMs` for readiness), plus
 * the longest of its `last` tasks', which start only once the others have settled.
 */
export function reservedFor(phase: Phase, tasks: Iterable<Task>, drainDelayMs: number): number {
  let first = phase === 'readiness' ? drainDelayMs : 0
  let last = 0
  for (const task of tasks) {
    if (task.phase !== phase) continue
    if (task.last) last = Math.max(last, task.timeoutMs)
    else first = Math.max(first, task.timeoutMs)
  }
  return first + last
}

export function planBudget(
  tasks: Iterable<Task>,
  gracePeriodMs: number,
  safetyMarginMs: number,
  drainDelay: ResolvedDrainDelay,
  exitFlushMs = 0,
): BudgetPlan {
  const drainDelayMs = drainDelay.maxMs
  const list = [...tasks]
  const phases = PHASES.map((phase) => ({ phase, reservedMs: reservedFor(phase, list, drainDelayMs) }))
  const totalMs = phases.reduce((sum, p) => sum + p.reservedMs, 0)
  const availableMs = gracePeriodMs - safetyMarginMs - exitReserveMs(gracePeriodMs, safetyMarginMs) - exitFlushMs
  return {
    gracePeriodMs,
    safetyMarginMs,
    drainDelayMs,
    drainDelay: { ...drainDelay },
    availableMs,
    exitFlushMs,
    phases,
    totalMs,
    fits: totalMs <= availableMs,
  }
}

/**
 * When the phase starting at `now` must end. The later phases' reserved time is kept for them: this
 * phase may run until only that is left (more than its own reservation when there is slack, less when
 * earlier phases overran or the budgets do not fit), so an overrunning drain cannot eat the flush's
 * time. Only when the time left cannot even cover the later phases is it shared in proportion.
 */
export function phaseCutoff(now: number, end: number, reservedMs: number, laterReservedMs: number): number {
  const remaining = end - now
  if (remaining <= 0) return now
  if (remaining > laterReservedMs) return end - laterReservedMs
  const total = reservedMs + laterReservedMs
  return total === 0 ? end : now + (remaining * reservedMs) / total
}

/** The fixed points of a run, from its first trigger. */
export interface RunWindow {
  /** By when the process must be gone: first trigger + grace − margin. */
  deadline: number
  /** When the last phase must end: the deadline less the exit reserve and the exit flushes' time, so that they fit. */
  end: number
  /** When the watchdog exits the process: halfway through the exit reserve, so even its exit is done in time. */
  watchdogAt: number
}

export function runWindow(firstAt: number, gracePeriodMs: number, safetyMarginMs: number, exitFlushMs = 0): RunWindow {
  const deadline = firstAt + gracePeriodMs - safetyMarginMs
  const reserve = exitReserveMs(gracePeriodMs, safetyMarginMs)
  return { deadline, end: deadline - reserve - exitFlushMs, watchdogAt: deadline - reserve / 2 }
}

/**
 * When the phase starting at `start` must end (see {@link phaseCutoff}), with the tasks registered now. The
 * drain delay is never shortened to make room: cutting it would send requests to a replica the endpoints
 * still point at after it stopped serving. Later phases squeeze instead.
 */
export function phaseWindow(
  phase: Phase,
  start: number,
  end: number,
  tasks: readonly Task[],
  drainDelayMs: number,
): { cutoff: number; budgetMs: number } {
  const reserved = reservedFor(phase, tasks, drainDelayMs)
  const later = PHASES.slice(PHASES.indexOf(phase) + 1).reduce((sum, p) => sum + reservedFor(p, tasks, 0), 0)
  const cut = phaseCutoff(start, end, reserved, later)
  const cutoff = phase === 'readiness' ? Math.max(cut, Math.min(start + drainDelayMs, end)) : cut
  return { cutoff, budgetMs: Math.round(cutoff - start) }
}

/** A task's own window inside its phase: its timeout, or the phase's cutoff when that comes first. */
export function taskWindow(
  start: number,
  timeoutMs: number,
  cutoff: number,
): { deadline: number; budgetMs: number; cutByPhase: boolean } {
  const deadline = Math.min(start + timeoutMs, cutoff)
  return { deadline, budgetMs: Math.max(0, deadline - start), cutByPhase: cutoff < start + timeoutMs }
}

/** `context.stopAt()`: a little before the task's deadline, so it can still report a partial result. */
export function stopAt(deadline: number, now: number): number {
  return deadline - Math.min(DEFAULTS.stopMarginMs, Math.max(0, deadline - now) / 10)
}

/** Whether a phase starting now has no time at all for a task that needs some. */
export function noTimeFor(task: Task, start: number, cutoff: number): boolean {
  return cutoff - start < 1 && task.timeoutMs > 0
}
