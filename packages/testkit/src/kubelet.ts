import { checkOptions } from '@lameduck/core/adapter'
import { SIM_LIMITS } from './defaults.js'
import { type ExecHook, type ExecHookOptions, type ExecHookResult, startExecHook } from './exec-hook.js'
import { type HttpGetOptions, httpGet, type PreStopResult } from './http-hook.js'
import type { Replica, ReplicaExit } from './replica.js'

export type { PreStopResult } from './http-hook.js'

export interface TerminationResult {
  /** The httpGet hook's outcome, `null` without one. */
  preStop: PreStopResult | null
  /** The exec hook's outcome, `null` without one. */
  preStopExec: ExecHookResult | null
  /** ms from termination start to the stop signal. */
  signalAtMs: number
  /** ms from termination start to the SIGKILL the kubelet had planned (sent or not). */
  sigkillAtMs: number
  exit: ReplicaExit
  /** ms from termination start to the exit. */
  exitAtMs: number
  sigkill: boolean
}

export interface TerminateOptions {
  graceMs: number
  signal: NodeJS.Signals
  /** The preStop httpGet hook, if any. */
  preStop?: HttpGetOptions | undefined
  /** The preStop exec hook, if any (a container has one handler: not with `preStop`). */
  preStopExec?: ExecHookOptions | undefined
  /** Told of the exec hook's process as it starts, so that the run's cleanup and its reaper know it. */
  onHook?: ((hook: ExecHook) => void) | undefined
  /** performance.now() at the termination start. */
  startedAt: number
}

/**
 * Terminates a replica as the kubelet does: the preStop hook — httpGet or exec, no timeout of its own, its
 * outcome only logged, waited for at most the grace period — then the stop signal, then SIGKILL when the
 * grace period is spent — preStop time included, but never less than `minimumGraceAfterPreStopMs` after
 * the preStop (after the signal, hook or not: with no hook, a grace period under 2 s gets 2 s). An exec hook still running then is left alone, and dies with the container (replica A's exit).
 */
export async function terminate(replica: Replica, options: TerminateOptions): Promise<TerminationResult> {
  const { graceMs, signal, startedAt } = options
  let preStop: PreStopResult | null = null
  let preStopExec: ExecHookResult | null = null
  let hook: ExecHook | undefined
  if (options.preStop) {
    checkOptions('preStop', options.preStop, ['port', 'path', 'headers', 'scheme', 'kubeletVersion'])
    preStop = await httpGet(options.preStop, graceMs)
  } else if (options.preStopExec) {
    checkOptions('preStopExec', options.preStopExec, ['command', 'env', 'cwd'])
    const running = startExecHook(options.preStopExec)
    hook = running
    options.onHook?.(running)
    // A service that exits during the hook takes the hook with it, as a container's end takes its processes.
    void replica.exited.then(() => running.containerExited())
    preStopExec = await running.within(graceMs)
  }
  const signalAt = performance.now()
  const spent = signalAt - startedAt
  // The kubelet always leaves this much between the signal and SIGKILL, hook or not (kuberuntime_container.go:
  // "always give containers a minimal shutdown window to avoid unnecessary SIGKILLs").
  const remaining = Math.max(graceMs - spent, SIM_LIMITS.minimumGraceAfterPreStopMs)
  replica.signal(signal)

  let sigkill = false
  let timer: NodeJS.Timeout | undefined
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (replica.running) {
        sigkill = true
        replica.killGroup('SIGKILL')
      }
      resolve()
    }, remaining)
  })
  const exit = await Promise.race([replica.exited, killed.then(() => replica.exited)])
  clearTimeout(timer)
  // What still runs in the container goes with it.
  hook?.containerExited()
  return {
    preStop,
    preStopExec,
    signalAtMs: signalAt - startedAt,
    sigkillAtMs: spent + remaining,
    exit,
    exitAtMs: exit.at - startedAt,
    sigkill,
  }
}
