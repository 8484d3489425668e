import type { BudgetPlan } from './budget.js'
import type { ShutdownWarning } from './shutdown.js'

// The warnings a coordinator gives at start-up, before anything has gone wrong.

/** The declared budgets do not fit in the grace period. */
export function fitWarning(plan: BudgetPlan): ShutdownWarning {
  const parts = plan.phases
    .filter((p) => p.reservedMs > 0)
    .map((p) => `${p.phase} ${p.reservedMs}`)
    .join(' + ')
  return {
    code: 'LAMEDUCK_WARN_BUDGET_EXCEEDS_GRACE',
    message:
      `declared budgets need ${plan.totalMs} ms (${parts}) but only ${Math.floor(plan.availableMs)} ms fit ` +
      `in gracePeriodMs ${plan.gracePeriodMs} − safetyMarginMs ${plan.safetyMarginMs}; early phases will be cut to ` +
      "keep the later phases' time. Raise terminationGracePeriodSeconds or lower the timeouts.",
    details: { plan },
  }
}

/** More than one coordinator handles signals in this process. */
export function severalCoordinatorsWarning(count: number): ShutdownWarning {
  return {
    code: 'LAMEDUCK_WARN_SEVERAL_COORDINATORS',
    message:
      `${count} lameduck coordinators handle signals in this process. Each runs its own shutdown on SIGTERM; ` +
      'the process exits once, when every run is done, with the worst exit code. Prefer one coordinator ' +
      'created in one module and imported everywhere (see "One coordinator per process" in the core README).',
    details: { coordinators: count },
  }
}
