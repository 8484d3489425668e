import { constants } from 'node:os'
import { joinCommand } from './command-line.js'
import type { ExecHookResult } from './exec-hook.js'
import type { PreStopResult } from './kubelet.js'
import type { ServiceReport, ServiceTask } from './service-report.js'
import type { WsCounts } from './ws-load.js'

/** What the verdict is drawn from: what the clients saw, what the kubelet saw, what the service reported. */
export interface VerdictInput {
  failed: number
  failures: Record<string, number>
  /** The WebSocket clients' counts, `null` without any. */
  ws: WsCounts | null
  sigkill: boolean
  graceMs: number
  signal: NodeJS.Signals
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  preStop: PreStopResult | null
  /** The exec hook's outcome, `null` without one. */
  preStopExec: ExecHookResult | null
  /** The grace period the service was told (`TERMINATION_GRACE_PERIOD_SECONDS` in `env`), `null` when it was not. */
  toldGraceMs: number | null
  /** Whether the preStop request carried an `Authorization` header. */
  preStopAuthorization: boolean
  /** Replica A's own report (preStop body, else its log), `null` for a service that gives none. */
  report: ServiceReport | null
  /** Epoch ms of the termination start. */
  terminationStartEpoch: number
  /** ms from termination start to the kubelet's SIGKILL: the grace period, or 2 s after a long preStop (2 s at least). */
  sigkillAtMs: number
}

export interface Verdict {
  passed: boolean
  /** Why the run failed, one sentence each; empty when it passed. */
  reasons: string[]
  /** What did not fail the run but would bite in a cluster. */
  warnings: string[]
}

/**
 * The rules, each a reason of its own. The run fails when:
 * - a request failed (load or long), or a WebSocket connection was dropped without a close frame (1006), a
 *   WebSocket (re)connect failed or a message was lost — what the clients saw;
 * - SIGKILL was needed, or replica A did not exit with code 0: killed by a signal (a container's exit status is
 *   then 128 + its number) or exited with another code — what the kubelet saw;
 * - the service's own report names a critical task that was skipped, timed out or failed, or an error thrown
 *   uncaught during the run, or has a non-zero exit code — what the service saw, even when it exited 0 anyway;
 * - the preStop hook failed (transport error, no answer within the grace period) or answered anything but 2xx.
 *   The kubelet ignores the status, so in a cluster a 401, 404 or 405 goes unnoticed while the hook does nothing
 *   and the shutdown starts only at the stop signal; a redirect (3xx) is not followed by the simulator (the
 *   kubelet follows none to another host);
 * - the exec hook could not run, exited with a code other than 0, was killed or did not finish within the grace
 *   period (the kubelet's `FailedPreStopHook`).
 * Non-critical tasks that did not succeed, a service deadline later than the kubelet's SIGKILL, a service told
 * a longer grace period than the kubelet gives, and an https hook retried over http are warnings.
 */
export function verdictOf(input: VerdictInput): Verdict {
  const reasons: string[] = []
  const warnings: string[] = []

  if (input.failed > 0) {
    const kinds = Object.entries(input.failures)
      .sort((x, y) => y[1] - x[1])
      .map(([kind, count]) => `${kind} ${count}`)
    reasons.push(`${input.failed} request${input.failed === 1 ? '' : 's'} failed (${kinds.join(', ')})`)
  }

  const ws = input.ws
  if (ws) {
    const s = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
    if (ws.abnormalCloses > 0)
      reasons.push(
        `${s(ws.abnormalCloses, 'WebSocket connection')} dropped without a close frame (1006): cut instead of told to reconnect elsewhere`,
      )
    if (ws.failedConnects > 0)
      reasons.push(`${s(ws.failedConnects, 'WebSocket connection attempt')} failed (${kindsOf(ws.connectFailures)})`)
    if (ws.lost > 0)
      reasons.push(
        `${s(ws.lost, 'WebSocket message')} lost: sent, and neither answered nor closed with a close code (the client cannot know whether it was processed)`,
      )
  }

  const told = input.toldGraceMs !== null && input.toldGraceMs > input.graceMs ? input.toldGraceMs : null
  const toldWhat = told === null ? '' : `it was told ${told / 1000} s (TERMINATION_GRACE_PERIOD_SECONDS)`

  if (input.sigkill)
    reasons.push(
      `SIGKILL was needed: replica A was still running when the ${input.graceMs} ms grace period ended${told === null ? '' : `: ${toldWhat}`}`,
    )
  else if (input.exitSignal !== null) {
    const status = 128 + (constants.signals[input.exitSignal] ?? 0)
    const why = input.exitSignal === input.signal ? `: it does not handle the stop signal ${input.signal}` : ''
    reasons.push(`replica A was killed by ${input.exitSignal} (exit status ${status} in a container)${why}`)
  } else if (input.exitCode !== 0) {
    const ownCode = input.report !== null && input.report.exitCode === input.exitCode
    reasons.push(
      `replica A exited with code ${input.exitCode}${ownCode ? ', the exit code of its shutdown report' : ''}`,
    )
  }

  const report = input.report
  if (report) {
    const critical = report.notOk.filter((task) => task.critical)
    for (const task of critical) reasons.push(`the service's report: critical ${describeTask(task)}`)
    for (const { origin, error } of report.errors)
      reasons.push(`the service's report: ${origin} during the shutdown: ${error}`)
    if (critical.length === 0 && report.errors.length === 0 && report.exitCode !== 0)
      reasons.push(`the service's report has exit code ${report.exitCode} (trigger: ${report.trigger})`)
    for (const task of report.notOk.filter((t) => !t.critical))
      warnings.push(`the service's report: non-critical ${describeTask(task)}`)
  }
  const deadline = report?.deadline ?? null
  if (deadline !== null && deadline > input.terminationStartEpoch + input.sigkillAtMs)
    warnings.push(
      `the service planned its shutdown up to ${Math.round(deadline - input.terminationStartEpoch)} ms ` +
        `after termination start, but the kubelet sends SIGKILL at ${Math.round(input.sigkillAtMs)} ms: ${
          told === null
            ? 'tell it the grace period (TERMINATION_GRACE_PERIOD_SECONDS in the pod spec, --env here; or gracePeriodMs)'
            : `${toldWhat}; ${TOLD_HINT}`
        }`,
    )
  else if (told !== null)
    warnings.push(
      `the service was told a ${told / 1000} s grace period (TERMINATION_GRACE_PERIOD_SECONDS), but the kubelet gives ${input.graceMs} ms: ${TOLD_HINT}`,
    )

  const preStopReason = input.preStop && preStopFailure(input.preStop, input)
  if (preStopReason) reasons.push(preStopReason)
  if (input.preStop?.httpFallback && !preStopReason?.includes('LifecycleHTTPFallback'))
    warnings.push(
      `preStop ${input.preStop.path}: port ${input.preStop.port} answered the https hook in plain HTTP, so the kubelet ` +
        `sent it again over http without the Authorization header (event LifecycleHTTPFallback): ${FALLBACK_HINT}`,
    )
  const execReason = input.preStopExec && execFailure(input.preStopExec, input)
  if (execReason) reasons.push(execReason)
  if (input.preStopExec?.diedWithContainer)
    warnings.push(
      `preStop exec ${joinCommand(input.preStopExec.command)} was still running when replica A exited, and died with ` +
        'it (SIGKILL, exit status 137 in a container): in a cluster the kubelet records a FailedPreStopHook event ' +
        'although the shutdown went well — let the hook exit as soon as it has its answer',
    )

  return { passed: reasons.length === 0, reasons, warnings }
}

/** `ECONNREFUSED 3, HTTP 503 1`: the kinds, most frequent first. */
function kindsOf(failures: Record<string, number>): string {
  return Object.entries(failures)
    .sort((x, y) => y[1] - x[1])
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ')
}

/** What to do about a service told more time than the kubelet gives. */
const TOLD_HINT =
  'it plans for time it does not have — tell it the shortest budget it can get (spot, eviction, kubectl delete --grace-period), or keep its drain delay and budgets within that one'

const FALLBACK_HINT = "set the hook's scheme to HTTP (--prestop-scheme http) for a plain-HTTP port, or use an exec hook"

const OUTCOME_WORDS: Record<string, string> = { skipped: 'was skipped', timeout: 'timed out', error: 'failed' }

function describeTask(task: ServiceTask): string {
  const what = OUTCOME_WORDS[task.outcome] ?? `ended with outcome ${task.outcome}`
  const base = `task "${task.name}" (${task.phase} phase)`
  if (task.error === undefined) return `${base} ${what}`
  // Core's messages repeat the name and the outcome (`task "x" timed out after 300 ms`): say them once.
  const own = /^task "[^"]*" (was skipped|timed out|failed)(:?)\s*(.*)$/s.exec(task.error)
  if (own && own[1] === what) return `${base} ${what}${own[2]}${own[3] ? ` ${own[3]}` : ''}`
  return `${base} ${what}: ${task.error}`
}

function preStopFailure(p: PreStopResult, input: VerdictInput): string | null {
  const hook = `preStop ${p.path}`
  if (p.error === 'timeout') return `${hook} did not answer within the ${input.graceMs} ms grace period`
  if (p.error !== null)
    return `${hook} failed: ${p.error} on port ${p.port} (the kubelet records FailedPreStopHook and sends ${input.signal} at once)`
  const status = p.status ?? 0
  if (status >= 200 && status < 300) return null
  const unnoticed = 'the kubelet ignores the status: in a cluster the hook would do nothing, unnoticed'
  if ((status === 401 || status === 403) && p.httpFallback && input.preStopAuthorization)
    return (
      `${hook} answered ${status}: port ${p.port} answered the https hook in plain HTTP, so the kubelet sent it again ` +
      `over http without the Authorization header (event LifecycleHTTPFallback): ${FALLBACK_HINT}; ${unnoticed}`
    )
  if (status === 401 || status === 403)
    return `${hook} answered ${status}: the token header is missing or wrong (${
      input.preStopAuthorization
        ? 'the Authorization header sent does not match the service’s token, LAMEDUCK_SHUTDOWN_TOKEN'
        : 'no Authorization header was sent: --prestop-header "Authorization: Bearer $LAMEDUCK_SHUTDOWN_TOKEN"'
    }); ${unnoticed}`
  if (status === 404)
    return `${hook} answered 404: no such path on port ${p.port} — check the hook's path and port (--prestop, --prestop-port); ${unnoticed}`
  if (status === 405)
    return `${hook} answered 405: the endpoint does not take GET, the kubelet's httpGet method; ${unnoticed}`
  if (status >= 300 && status < 400)
    return `${hook} answered ${status}, a redirect: point the hook at the endpoint itself (the kubelet follows no redirect to another host, the simulator none at all)`
  if (status >= 500)
    return `${hook} answered ${status}: the endpoint reported a failure${input.report ? ' (see the service’s report)' : ''}`
  return `${hook} answered ${status}; ${unnoticed}`
}

function execFailure(e: ExecHookResult, input: VerdictInput): string | null {
  const hook = `preStop exec ${joinCommand(e.command)}`
  const event = `the kubelet records FailedPreStopHook and sends ${input.signal}`
  if (e.error === 'timeout') return `${hook} did not finish within the ${input.graceMs} ms grace period`
  if (e.error === 'ENOENT') return `${hook} failed: command not found: ${e.command[0]} (${event} at once)`
  if (e.error !== null) return `${hook} failed: ${e.error} (${event} at once)`
  const said = e.stderr.findLast((line) => line.trim() !== '') ?? e.stdout.findLast((line) => line.trim() !== '')
  const output = said === undefined ? '' : `: ${said.trim()}`
  if (e.diedWithContainer) return null
  if (e.exitSignal !== null) return `${hook} was killed by ${e.exitSignal} (${event})${output}`
  if (e.exitCode !== 0) return `${hook} exited with code ${e.exitCode} (${event})${output}`
  return null
}
