import { describe, expect, it } from 'vitest'
import type { ExecHookResult } from '../src/exec-hook.js'
import type { PreStopResult } from '../src/kubelet.js'
import { type VerdictInput, verdictOf } from '../src/verdict.js'
import { emptyWsCounts } from '../src/ws-load.js'

// The rules as a pure function: every preStop answer and exit, each with its sentence. The fixtures in
// sim.test.ts run the common ones through real services.
const clean: VerdictInput = {
  failed: 0,
  failures: {},
  ws: null,
  sigkill: false,
  graceMs: 30_000,
  signal: 'SIGTERM',
  exitCode: 0,
  exitSignal: null,
  preStop: null,
  preStopExec: null,
  toldGraceMs: null,
  preStopAuthorization: false,
  report: null,
  terminationStartEpoch: 1_000_000,
  sigkillAtMs: 30_000,
}
const hook = (status: number | null, error: string | null = null): PreStopResult => ({
  path: '/shutdown',
  port: 8080,
  scheme: 'http',
  status,
  durationMs: 5,
  error,
  body: '',
  httpFallback: false,
})

describe('verdictOf', () => {
  it('WebSocket clients: passes when none was dropped, failed to connect or lost a message; a reason for each otherwise', () => {
    const ws = { ...emptyWsCounts(100), connections: 150, reconnects: 50, closes: { 1012: 50 }, unanswered: 3 }
    expect(verdictOf({ ...clean, ws })).toEqual({ passed: true, reasons: [], warnings: [] })
    const bad = {
      ...ws,
      abnormalCloses: 2,
      failedConnects: 4,
      connectFailures: { ECONNREFUSED: 3, 'HTTP 503': 1 },
      lost: 1,
    }
    expect(verdictOf({ ...clean, ws: bad })).toEqual({
      passed: false,
      reasons: [
        '2 WebSocket connections dropped without a close frame (1006): cut instead of told to reconnect elsewhere',
        '4 WebSocket connection attempts failed (ECONNREFUSED 3, HTTP 503 1)',
        '1 WebSocket message lost: sent, and neither answered nor closed with a close code (the client cannot know whether it was processed)',
      ],
      warnings: [],
    })
  })

  it('passes a clean run, with any 2xx from the hook', () => {
    expect(verdictOf(clean)).toEqual({ passed: true, reasons: [], warnings: [] })
    for (const status of [200, 204])
      expect(verdictOf({ ...clean, preStop: hook(status) })).toEqual({ passed: true, reasons: [], warnings: [] })
  })

  it('fails every other preStop answer, saying what it means', () => {
    const reason = (input: Partial<VerdictInput>) => verdictOf({ ...clean, ...input }).reasons
    expect(reason({ preStop: hook(401) })).toEqual([
      'preStop /shutdown answered 401: the token header is missing or wrong (no Authorization header was sent: ' +
        '--prestop-header "Authorization: Bearer $LAMEDUCK_SHUTDOWN_TOKEN"); the kubelet ignores the status: in a ' +
        'cluster the hook would do nothing, unnoticed',
    ])
    expect(reason({ preStop: hook(403), preStopAuthorization: true })[0]).toMatch(
      /^preStop \/shutdown answered 403: the token header is missing or wrong \(the Authorization header sent does not match/,
    )
    expect(reason({ preStop: hook(404) })[0]).toMatch(/^preStop \/shutdown answered 404: no such path on port 8080/)
    expect(reason({ preStop: hook(405) })[0]).toMatch(
      /^preStop \/shutdown answered 405: the endpoint does not take GET, the kubelet's httpGet method/,
    )
    expect(reason({ preStop: hook(302) })[0]).toMatch(/^preStop \/shutdown answered 302, a redirect/)
    expect(reason({ preStop: hook(503) })).toEqual(['preStop /shutdown answered 503: the endpoint reported a failure'])
    expect(reason({ preStop: hook(418) })[0]).toMatch(
      /^preStop \/shutdown answered 418; the kubelet ignores the status/,
    )
    expect(reason({ preStop: hook(null, 'ECONNREFUSED') })).toEqual([
      'preStop /shutdown failed: ECONNREFUSED on port 8080 (the kubelet records FailedPreStopHook and sends SIGTERM at once)',
    ])
    expect(reason({ preStop: hook(null, 'timeout') })).toEqual([
      'preStop /shutdown did not answer within the 30000 ms grace period',
    ])
  })

  it('fails on the exit: a code, a signal, SIGKILL', () => {
    expect(verdictOf({ ...clean, exitCode: 3 }).reasons).toEqual(['replica A exited with code 3'])
    expect(verdictOf({ ...clean, exitCode: null, exitSignal: 'SIGTERM' }).reasons).toEqual([
      'replica A was killed by SIGTERM (exit status 143 in a container): it does not handle the stop signal SIGTERM',
    ])
    expect(verdictOf({ ...clean, exitCode: null, exitSignal: 'SIGSEGV' }).reasons).toEqual([
      'replica A was killed by SIGSEGV (exit status 139 in a container)',
    ])
    // SIGKILL is said once, not also as "killed by SIGKILL".
    expect(verdictOf({ ...clean, exitCode: null, exitSignal: 'SIGKILL', sigkill: true }).reasons).toEqual([
      'SIGKILL was needed: replica A was still running when the 30000 ms grace period ended',
    ])
  })

  it('reads the report: critical tasks and errors fail, the rest warns', () => {
    const report = {
      trigger: 'signal',
      start: 1_000_010,
      end: 1_002_000,
      deadline: 1_029_000,
      exitCode: 1,
      notOk: [
        { name: 'push-metrics', phase: 'report', critical: false, outcome: 'error', error: 'ECONNREFUSED' },
        { name: 'release-lock', phase: 'release', critical: true, outcome: 'error', error: 'NOSCRIPT' },
      ],
      errors: [{ origin: 'uncaughtException', error: 'boom' }],
      drainDelay: null,
    }
    expect(verdictOf({ ...clean, exitCode: 1, report })).toEqual({
      passed: false,
      reasons: [
        'replica A exited with code 1, the exit code of its shutdown report',
        'the service\'s report: critical task "release-lock" (release phase) failed: NOSCRIPT',
        "the service's report: uncaughtException during the shutdown: boom",
      ],
      warnings: ['the service\'s report: non-critical task "push-metrics" (report phase) failed: ECONNREFUSED'],
    })
    // A non-zero exit code in the report with nothing to show for it (a fatal trigger) still fails.
    expect(verdictOf({ ...clean, report: { ...report, trigger: 'fatal', notOk: [], errors: [] } }).reasons).toEqual([
      "the service's report has exit code 1 (trigger: fatal)",
    ])
  })

  it('an https hook that fell back to http: the reason says the Authorization header was dropped, else a warning', () => {
    const fellBack = (status: number): PreStopResult => ({ ...hook(status), scheme: 'https', httpFallback: true })
    const dropped = verdictOf({ ...clean, preStop: fellBack(401), preStopAuthorization: true })
    expect(dropped.reasons).toEqual([
      'preStop /shutdown answered 401: port 8080 answered the https hook in plain HTTP, so the kubelet sent it again ' +
        "over http without the Authorization header (event LifecycleHTTPFallback): set the hook's scheme to HTTP " +
        '(--prestop-scheme http) for a plain-HTTP port, or use an exec hook; the kubelet ignores the status: in a ' +
        'cluster the hook would do nothing, unnoticed',
    ])
    expect(dropped.warnings).toEqual([])
    // No token sent at all: the usual 401 reason, and the fallback said as a warning.
    const none = verdictOf({ ...clean, preStop: fellBack(401) })
    expect(none.reasons[0]).toMatch(
      /^preStop \/shutdown answered 401: the token header is missing or wrong \(no Authorization/,
    )
    expect(none.warnings).toEqual([
      expect.stringMatching(/^preStop \/shutdown: port 8080 answered the https hook in plain HTTP/),
    ])
    const ok = verdictOf({ ...clean, preStop: fellBack(200), preStopAuthorization: true })
    expect(ok.passed).toBe(true)
    expect(ok.warnings).toHaveLength(1)
  })

  it('an exec hook: a non-zero exit, a signal, no such command, no end within the grace period; dying with A warns', () => {
    const exec = (e: Partial<ExecHookResult>): ExecHookResult => ({
      command: ['node', 'pre stop.mjs'],
      exitCode: 0,
      exitSignal: null,
      durationMs: 40,
      error: null,
      diedWithContainer: false,
      stdout: [],
      stderr: [],
      ...e,
    })
    const verdict = (e: Partial<ExecHookResult>) => verdictOf({ ...clean, preStopExec: exec(e) })
    expect(verdict({})).toEqual({ passed: true, reasons: [], warnings: [] })
    expect(verdict({ exitCode: 1, stdout: ['calling', ''], stderr: ['Error: 401', '  '] }).reasons).toEqual([
      "preStop exec node 'pre stop.mjs' exited with code 1 (the kubelet records FailedPreStopHook and sends SIGTERM): Error: 401",
    ])
    expect(verdict({ exitCode: 2, stdout: ['only stdout'] }).reasons[0]).toMatch(/: only stdout$/)
    expect(verdict({ exitCode: null, exitSignal: 'SIGSEGV' }).reasons).toEqual([
      "preStop exec node 'pre stop.mjs' was killed by SIGSEGV (the kubelet records FailedPreStopHook and sends SIGTERM)",
    ])
    expect(verdict({ exitCode: null, error: 'ENOENT' }).reasons).toEqual([
      "preStop exec node 'pre stop.mjs' failed: command not found: node (the kubelet records FailedPreStopHook and sends SIGTERM at once)",
    ])
    expect(verdict({ exitCode: null, error: 'timeout' }).reasons).toEqual([
      "preStop exec node 'pre stop.mjs' did not finish within the 30000 ms grace period",
    ])
    const died = verdict({ exitCode: null, exitSignal: 'SIGKILL', diedWithContainer: true })
    expect(died.passed).toBe(true)
    expect(died.warnings).toEqual([
      expect.stringMatching(
        /^preStop exec node 'pre stop.mjs' was still running when replica A exited, and died with it/,
      ),
    ])
  })

  it('a service told a longer grace period than the kubelet gives: a warning, and the SIGKILL reason says so', () => {
    const told = { ...clean, graceMs: 15_000, sigkillAtMs: 15_000, toldGraceMs: 30_000 }
    expect(verdictOf(told)).toEqual({
      passed: true,
      reasons: [],
      warnings: [
        'the service was told a 30 s grace period (TERMINATION_GRACE_PERIOD_SECONDS), but the kubelet gives 15000 ms: ' +
          'it plans for time it does not have — tell it the shortest budget it can get (spot, eviction, kubectl delete ' +
          '--grace-period), or keep its drain delay and budgets within that one',
      ],
    })
    expect(verdictOf({ ...told, sigkill: true, exitCode: null, exitSignal: 'SIGKILL' }).reasons).toEqual([
      'SIGKILL was needed: replica A was still running when the 15000 ms grace period ended: it was told 30 s (TERMINATION_GRACE_PERIOD_SECONDS)',
    ])
    // With its report, the one warning gives the deadline it planned for.
    const report = {
      trigger: 'http',
      start: 1_000_000,
      end: 1_002_000,
      deadline: 1_029_000,
      exitCode: 0,
      notOk: [],
      errors: [],
      drainDelay: null,
    }
    expect(verdictOf({ ...told, report }).warnings).toEqual([
      expect.stringMatching(
        /^the service planned its shutdown up to 29000 ms after termination start, but the kubelet sends SIGKILL at 15000 ms: it was told 30 s \(TERMINATION_GRACE_PERIOD_SECONDS\); it plans for time/,
      ),
    ])
    // Told as much as it gets, or less: nothing to say.
    expect(verdictOf({ ...told, toldGraceMs: 15_000 }).warnings).toEqual([])
    expect(verdictOf({ ...told, toldGraceMs: 10_000 }).warnings).toEqual([])
  })
})
