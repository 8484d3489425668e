/**
 * Every coordinator's run going on in this process, so that one coordinator's exit cannot cut another's
 * run short. Without it, a second `createShutdown()` (a library or a module wired on its own) with no
 * tasks finished ~20 ms after SIGTERM and exited the process while the first was still in its drain delay.
 *
 * The rule: a coordinator that is done and wants to exit waits until every other run in the process is
 * done too (never past its own watchdog), then the process exits once, with the worst exit code of the
 * runs that overlapped. A watchdog or a forced exit abandons every run still going (their tasks'
 * `onAbandon` hooks are called) before the process goes.
 *
 * Kept on `globalThis` under a `Symbol.for` key: two copies of this package in one process (the ESM and
 * the CommonJS build, or two versions) must see the same runs. The shape is versioned for that reason.
 */

export interface ProcessRun {
  /** The run's exit code once its report is final. */
  exitCode: number | undefined
  /** Resolves when `exitCode` is set. */
  readonly finished: Promise<void>
  /** Gives up the run's unsettled tasks: the process is about to exit. Must not throw. */
  readonly abandon: () => void
  /** Runs that were going on at the same time as this one, this one included. */
  readonly cohort: Set<ProcessRun>
  /** Set once the process exit for this run's cohort has been claimed. */
  exitClaimed: boolean
}

interface Registry {
  version: 1
  active: Set<ProcessRun>
  /** Coordinators with signal handlers installed now, for the "several coordinators" warning. */
  installed: number
}

const key = Symbol.for('lameduck.process-runs.v1')

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>
  let found = holder[key]
  if (found === undefined) {
    found = { version: 1, active: new Set(), installed: 0 }
    holder[key] = found
  }
  return found
}

/** Registers a run that has just started. `finish(code)` must be called when its report is final. */
export function beginRun(abandon: () => void): { run: ProcessRun; finish(exitCode: number): void } {
  const { active } = registry()
  let resolve!: () => void
  const finished = new Promise<void>((r) => {
    resolve = r
  })
  const run: ProcessRun = { exitCode: undefined, finished, abandon, cohort: new Set(), exitClaimed: false }
  run.cohort.add(run)
  for (const other of active) {
    other.cohort.add(run)
    run.cohort.add(other)
  }
  active.add(run)
  return {
    run,
    finish(exitCode) {
      run.exitCode = exitCode
      active.delete(run)
      resolve()
    },
  }
}

/** Resolves when no other run of the process is still going (runs that start meanwhile included). */
export async function othersFinished(run: ProcessRun): Promise<void> {
  const { active } = registry()
  for (;;) {
    const pending = [...active].filter((other) => other !== run && other.exitCode === undefined)
    if (pending.length === 0) return
    await Promise.all(pending.map((other) => other.finished))
  }
}

/** Whether another run of the process is still going. */
export function othersPending(run: ProcessRun): boolean {
  for (const other of registry().active) if (other !== run && other.exitCode === undefined) return true
  return false
}

/** The worst exit code among the runs that overlapped `run` (its own included). */
export function worstExitCode(run: ProcessRun, own: number): number {
  let worst = own
  for (const other of run.cohort) if (other.exitCode !== undefined && other.exitCode > worst) worst = other.exitCode
  return worst
}

/**
 * Claims the one process exit for `run` and everything that ran beside it. Returns false when another
 * coordinator of the cohort has claimed it already (it exits; this one must not call its exit too).
 * Before returning true, every run still going is abandoned.
 */
export function claimExit(run: ProcessRun): boolean {
  if (run.exitClaimed) return false
  const { active } = registry()
  const cohort = new Set([...run.cohort, ...active])
  for (const member of cohort) member.exitClaimed = true
  for (const member of active) {
    member.abandon()
    // Nothing will wait for it any more: the process is going.
    active.delete(member)
  }
  return true
}

/** Counts coordinators with signal handlers; returns how many there are now. */
export function countInstalled(delta: 1 | -1): number {
  const reg = registry()
  reg.installed = Math.max(0, reg.installed + delta)
  return reg.installed
}
