import type { ExecHookResult } from './exec-hook.js'
import type { PreStopResult, TerminationResult } from './kubelet.js'
import type { LoadCounts } from './load.js'
import type { LoadTotals } from './load-process.js'
import type { ResolvedOptions } from './options.js'
import type { Replica } from './replica.js'
import { reportInBody, type ServiceDrainDelay, type ServiceReport, type ServiceTask } from './service-report.js'
import { verdictOf } from './verdict.js'
import type { WsCounts } from './ws-load.js'

/** What `onProgress` is given, a few times a second. */
export interface SimulationProgress {
  elapsedMs: number
  stage: 'warmup' | 'terminating' | 'tail'
  requests: number
  failed: number
  requestsPerSecond: number
}

/** What happened. `failed` is every failed request, load and long ones together. */
export interface SimulationResult {
  /** No reason to fail: see `reasons`. */
  passed: boolean
  /**
   * Why the run failed, one sentence each (empty when it passed): failed requests, WebSocket connections
   * dropped (1006), failed WebSocket (re)connects or lost messages, SIGKILL, replica A's exit
   * (a code other than 0, or killed by a signal), a critical task its own report says was skipped, timed out
   * or failed, a preStop hook that failed or answered anything but 2xx (401, 404, 405…).
   */
  reasons: string[]
  /** What did not fail the run but would bite in a cluster (a non-critical task that failed, a deadline past SIGKILL). */
  warnings: string[]
  requests: number
  ok: number
  failed: number
  /** Failed requests by kind: `ECONNRESET`, `ECONNREFUSED`, `HTTP 503`, `timeout`, … */
  failures: Record<string, number>
  /** Load-request throughput over the whole run. */
  requestsPerSecond: number
  load: LoadCounts
  long: LongRequests
  /**
   * What the WebSocket clients saw (`ws`): connections, reconnects and their peak per 100 ms, closes by code,
   * abnormal closes (1006), failed (re)connects, messages sent, answered, unanswered at a clean close, and
   * lost. `null` without WebSocket clients.
   */
  ws: WsCounts | null
  /** The preStop httpGet hook's outcome (status, body, scheme, whether it fell back to http), `null` without one. */
  preStop: PreStopResult | null
  /** The preStop exec hook's outcome (exit code, output tails), `null` without one. */
  preStopExec: ExecHookResult | null
  signal: NodeJS.Signals
  /** ms from termination start to the stop signal (the preStop time). */
  signalAtMs: number
  /** ms from termination start to replica A's exit. */
  terminationToExitMs: number
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  sigkill: boolean
  /**
   * Replica A's lameduck coordinator as its report tells it (from the preStop response body, else from its
   * JSON `report` log line), or `null` for a service that does not use lameduck or logs otherwise.
   * `triggeredAtMs` is how long the termination took to reach the service (under heavy load the preStop
   * request waits in the accept queue of a saturated event loop); `terminationToExitMs − triggeredAtMs` is
   * what the service itself took.
   */
  lameduck: LameduckTimeline | null
  /**
   * With `readinessPath`: the path, and how long each replica took from its start to its first 200 there
   * (only then was it given traffic). `null` without: the replicas got traffic once they listened.
   */
  readiness: Readiness | null
  /** Replica A's last output lines. */
  lastOutput: string[]
  /**
   * What replica A got on top of the simulator's own environment: the pod's variables (`HOSTNAME`,
   * `KUBERNETES_*`), `env`, `PORT` and `ADMIN_PORT`.
   */
  environment: Record<string, string>
  durationMs: number
  config: {
    concurrency: number
    thinkMs: number
    /** Requests per connection before a caller ends it; `null`: keep-alive for good. */
    churn: number | null
    path: string
    graceMs: number
    /** The grace period the service was told (`TERMINATION_GRACE_PERIOD_SECONDS` in `env`), `null` when not. */
    toldGraceMs: number | null
    propagationMs: number
    warmupMs: number
    tailMs: number
  }
}

/** How the replicas got ready (`readinessPath`): ms from each one's start to its first 200 on `path`. */
export interface Readiness {
  path: string
  readyAfterMs: { A: number; B: number }
}

/** The long requests' counts, and how long each was asked to take. */
export type LongRequests = LoadCounts & { durationMs: number }

/** Replica A's shutdown as its lameduck report tells it; times in ms from termination start. */
export interface LameduckTimeline {
  triggeredAtMs: number
  finishedAtMs: number
  /** The deadline the service planned for (`null` in reports without one). */
  deadlineAtMs: number | null
  /** What started its run: `http` (the preStop `/shutdown`), `signal`, … */
  trigger: string
  exitCode: number
  /** How long the service's drain delay lasted and why it ended (`null` for a lameduck that does not say). */
  drainDelay: ServiceDrainDelay | null
  /** Every task whose outcome was not `ok`. */
  notOk: ServiceTask[]
}

/** What a run saw, from each side: the callers (load, long), the kubelet (termination), the service (A). */
export interface RunRecord {
  config: ResolvedOptions
  /** Replica A, the one terminated. */
  a: Replica
  load: LoadTotals
  long: LongRequests
  /** The kubelet's side, with `start` the termination start (performance.now()). */
  termination: TerminationResult & { start: number }
  /** performance.now() at the run's start. */
  started: number
  /** With `readinessPath`: when each replica got ready. */
  readiness: Readiness | null
}

/** The result of a run: the counts of both kinds of request together, the verdict, A's own report. */
export function simulationResult({
  config,
  a,
  load,
  long,
  termination,
  started,
  readiness,
}: RunRecord): SimulationResult {
  const failures: Record<string, number> = { ...load.counts.failures }
  for (const [kind, count] of Object.entries(long.failures)) failures[kind] = (failures[kind] ?? 0) + count
  const failed = load.counts.failed + long.failed
  const terminationStartEpoch = performance.timeOrigin + termination.start
  // The preStop body holds the report of a run the hook started; the log line that of any run.
  const report = reportInBody(termination.preStop?.body) ?? a.report
  const toldGraceMs = toldGrace(config.env)
  const verdict = verdictOf({
    failed,
    failures,
    ws: load.ws,
    sigkill: termination.sigkill,
    graceMs: config.graceMs,
    signal: config.signal,
    exitCode: termination.exit.code,
    exitSignal: termination.exit.signal,
    preStop: termination.preStop,
    preStopExec: termination.preStopExec,
    toldGraceMs,
    preStopAuthorization: Object.hasOwn(config.preStopHeaders, 'authorization'),
    report,
    terminationStartEpoch,
    sigkillAtMs: termination.sigkillAtMs,
  })
  return {
    passed: verdict.passed,
    reasons: verdict.reasons,
    warnings: verdict.warnings,
    requests: load.counts.total + long.total,
    ok: load.counts.ok + long.ok,
    failed,
    failures,
    requestsPerSecond: Math.round((load.counts.total * 1000) / load.ms),
    load: load.counts,
    long,
    ws: load.ws,
    preStop: termination.preStop,
    preStopExec: termination.preStopExec,
    signal: config.signal,
    signalAtMs: Math.round(termination.signalAtMs),
    terminationToExitMs: Math.round(termination.exitAtMs),
    exitCode: termination.exit.code,
    exitSignal: termination.exit.signal,
    sigkill: termination.sigkill,
    lameduck: report && timeline(report, terminationStartEpoch),
    readiness,
    lastOutput: [...a.output],
    environment: a.environment,
    durationMs: Math.round(performance.now() - started),
    config: {
      concurrency: config.concurrency,
      thinkMs: config.thinkMs,
      churn: config.churn,
      path: config.path,
      graceMs: config.graceMs,
      toldGraceMs,
      propagationMs: config.propagationMs,
      warmupMs: config.warmupMs,
      tailMs: config.tailMs,
    },
  }
}

// Epoch ms in the report against the epoch of the termination start: the same machine's clock.
function timeline(report: ServiceReport, startEpoch: number): LameduckTimeline {
  return {
    triggeredAtMs: Math.round(report.start - startEpoch),
    finishedAtMs: Math.round(report.end - startEpoch),
    deadlineAtMs: report.deadline === null ? null : Math.round(report.deadline - startEpoch),
    trigger: report.trigger,
    exitCode: report.exitCode,
    drainDelay: report.drainDelay,
    notOk: report.notOk,
  }
}

/** What the pod spec told the service, as core reads it: whole seconds (or a fraction) × 1000; else `null`. */
function toldGrace(env: Record<string, string>): number | null {
  const raw = env.TERMINATION_GRACE_PERIOD_SECONDS
  if (raw === undefined || raw.trim() === '') return null
  const seconds = Number(raw)
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : null
}
