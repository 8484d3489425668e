import { DEFAULTS } from './defaults.js'
import { PHASES, type Phase } from './phases.js'
import type { Task } from './task.js'

/** The time a shutdown has, and how it is shared among the phases. */
export interface BudgetPlan {
  gracePeriodMs: number
  safetyMarginMs: number
  drainDelayMs: number
  /** From the first trigger to the end of the last phase: grace − margin − the exit reserve. */
  availableMs: number
  /** Per phase, the time reserved for it: its longest task `timeoutMs` (and `drainDelayMs` for readiness). */
  phases: { phase: Phase; reservedMs: number }[]
  /** Sum of the reserved times: what a run takes when every task uses its whole budget. */
  totalMs: number
  /** Whether `totalMs` fits in `availableMs`. When it does not, early phases are cut to keep later phases' time. */
  fits: boolean
}

export function exitReserveMs(gracePeriodMs: number, safetyMarginMs: number): number {
  return Math.min(DEFAULTS.exitReserveMs, (gracePeriodMs - safetyMarginMs) / 10)
}

export function reservedFor(phase: Phase, tasks: Iterable<Task>, drainDelayMs: number): number {
  let reserved = phase === 'readiness' ? drainDelayMs : 0
  for (const task of tasks) if (task.phase === phase && task.timeoutMs > reserved) reserved = task.timeoutMs
  return reserved
}

export function planBudget(
  tasks: Iterable<Task>,
  gracePeriodMs: number,
  safetyMarginMs: number,
  drainDelayMs: number,
): BudgetPlan {
  const list = [...tasks]
  const phases = PHASES.map((phase) => ({ phase, reservedMs: reservedFor(phase, list, drainDelayMs) }))
  const totalMs = phases.reduce((sum, p) => sum + p.reservedMs, 0)
  const availableMs = gracePeriodMs - safetyMarginMs - exitReserveMs(gracePeriodMs, safetyMarginMs)
  return { gracePeriodMs, safetyMarginMs, drainDelayMs, availableMs, phases, totalMs, fits: totalMs <= availableMs }
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
