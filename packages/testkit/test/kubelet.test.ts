import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIM_DEFAULTS, type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { afterAll, describe, expect, it } from 'vitest'
import { expectNoneLeft, fixture, leftovers, newMarker } from './support.js'

// The kubelet's side of a termination as the kubelet itself behaves (pkg/kubelet/lifecycle/handlers.go,
// kuberuntime_container.go): how it sends the preStop httpGet, its https → http fallback, and exec hooks.
// Short, light runs: these tests look at the hook, not at the load.
const TOKEN = 'kubelet-test-token-0123456789abcdef'
const ENV = { DRAIN_DELAY_MS: '300', LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, TERMINATION_GRACE_PERIOD_SECONDS: '5' }
const quick = { warmup: '300ms', propagation: '300ms', tail: '100ms', concurrency: 8, grace: '5s' } as const

function run(name: string, options: Partial<SimulationOptions> = {}, ...args: string[]) {
  const marker = newMarker()
  const result = simulateTermination({
    command: [process.execPath, fixture(name), marker, ...args],
    ...quick,
    env: ENV,
    ...options,
  })
  return { result, marker }
}

/** The headers the preStop request arrived with, as the fixture's /headers echoes them. */
const echoed = (body: string | undefined) =>
  JSON.parse(body ?? '{}') as { tls: boolean; headers: Record<string, string | undefined> }

/** `node hook.mjs …`: the test's exec hook. */
const hook = (...args: string[]) => [process.execPath, fixture('hook'), ...args]

describe('the preStop httpGet, as the kubelet sends it', () => {
  it(`User-Agent kube-lifecycle/<version> (${SIM_DEFAULTS.kubeletVersion} by default) and Accept */*, the hook's own headers too`, async () => {
    const r = await run('well-behaved', { preStop: '/headers', preStopHeaders: { 'x-hook': 'yes' } }).result
    expect(r.preStop).toMatchObject({ status: 200, scheme: 'http', httpFallback: false, error: null })
    const { headers } = echoed(r.preStop?.body)
    expect(headers).toMatchObject({
      'user-agent': `kube-lifecycle/${SIM_DEFAULTS.kubeletVersion}`,
      accept: '*/*',
      'x-hook': 'yes',
    })
    // The kubelet throws the body away; the simulator keeps it for the report.
    expect(r.passed).toBe(true)
  })

  it('kubeletVersion sets the version; a User-Agent or Accept of the hook wins', async () => {
    const r = await run('well-behaved', {
      preStop: '/headers',
      kubeletVersion: '1.29',
      preStopHeaders: { accept: 'application/json' },
    }).result
    expect(echoed(r.preStop?.body).headers).toMatchObject({
      'user-agent': 'kube-lifecycle/1.29',
      accept: 'application/json',
    })
    const own = await run('well-behaved', { preStop: '/headers', preStopHeaders: { 'user-agent': 'probe/1' } }).result
    expect(echoed(own.preStop?.body).headers['user-agent']).toBe('probe/1')
  })

  it('https against a plain-HTTP port: sent again over http WITHOUT Authorization, and said so', async () => {
    // The service needs no token for /headers: the hook works, but not as written — a warning.
    const r = await run('well-behaved', {
      preStop: '/headers',
      preStopScheme: 'https',
      preStopHeaders: { authorization: `Bearer ${TOKEN}`, 'x-hook': 'yes' },
    }).result
    expect(r.preStop).toMatchObject({ scheme: 'https', httpFallback: true, status: 200, error: null })
    const seen = echoed(r.preStop?.body)
    expect(seen.tls).toBe(false)
    expect(seen.headers.authorization).toBeUndefined()
    expect(seen.headers['x-hook']).toBe('yes')
    expect(seen.headers['user-agent']).toBe(`kube-lifecycle/${SIM_DEFAULTS.kubeletVersion}`)
    expect(r.passed).toBe(true)
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^preStop \/headers: port \d+ answered the https hook in plain HTTP, so the kubelet sent it again over http without the Authorization header \(event LifecycleHTTPFallback\): set the hook's scheme to HTTP/,
      ),
    ])
  })

  it("https against lameduck's plain-HTTP /shutdown: 401, since the token was dropped — the reason says why", async () => {
    const r = await run('lameduck-service', {
      preStop: '/shutdown',
      preStopScheme: 'https',
      preStopHeaders: { authorization: `Bearer ${TOKEN}` },
    }).result
    expect(r.preStop).toMatchObject({ scheme: 'https', httpFallback: true, status: 401 })
    // The hook did nothing: the stop signal shut the service down, cleanly.
    expect(r.lameduck?.trigger).toBe('signal')
    expect(r.failed).toBe(0)
    expect(r.passed).toBe(false)
    expect(r.reasons).toEqual([
      expect.stringMatching(
        /^preStop \/shutdown answered 401: port \d+ answered the https hook in plain HTTP, so the kubelet sent it again over http without the Authorization header \(event LifecycleHTTPFallback\)/,
      ),
    ])
  })

  describe('https against a port that speaks TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-sim-tls-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
    // A self-signed certificate, as the kubelet does not verify it.
    const openssl = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=pod', '-days', '1'].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    )
    it.skipIf(openssl.status !== 0)('is sent over TLS, unverified, with its Authorization header', async () => {
      const r = await run('tls-admin', {
        preStop: '/headers',
        preStopPort: 'admin',
        preStopScheme: 'https',
        preStopHeaders: { authorization: `Bearer ${TOKEN}` },
        env: { ...ENV, TLS_DIR: dir },
      }).result
      expect(r.preStop).toMatchObject({ scheme: 'https', httpFallback: false, status: 200, error: null })
      const seen = echoed(r.preStop?.body)
      expect(seen.tls).toBe(true)
      expect(seen.headers.authorization).toBe(`Bearer ${TOKEN}`)
      expect(r.passed).toBe(true)
      expect(r.warnings).toEqual([])
    })
  })
})

describe('the preStop exec hook, as the kubelet runs it', () => {
  it("runs with replica A's environment (the token included) and working directory, no shell", async () => {
    const r = await run('well-behaved', { preStopExec: hook('env') }).result
    expect(r.preStopExec).toMatchObject({ exitCode: 0, exitSignal: null, error: null, diedWithContainer: false })
    const line = r.preStopExec?.stdout.find((l) => l.startsWith('hook '))
    const seen = JSON.parse((line ?? 'hook {}').slice(5)) as { cwd: string; env: Record<string, string> }
    expect(seen.cwd).toBe(process.cwd())
    expect(seen.env).toEqual({
      PORT: r.environment.PORT,
      ADMIN_PORT: r.environment.ADMIN_PORT,
      HOSTNAME: r.environment.HOSTNAME,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      LAMEDUCK_SHUTDOWN_TOKEN: TOKEN,
    })
    expect(r.preStop).toBeNull()
    expect(r.passed).toBe(true)
  })

  it('a hook that calls /shutdown with the token from its environment: the service shuts down through it', async () => {
    const r = await run('lameduck-service', { preStopExec: hook('shutdown') }).result
    expect(r.lameduck).toMatchObject({ trigger: 'http', exitCode: 0 })
    expect(r.failed).toBe(0)
    expect(r.passed).toBe(true)
    // It exits when it has the answer, or dies with the service, which exits as it sends it: both happen.
    const e = r.preStopExec
    expect(e?.exitCode === 0 || e?.diedWithContainer, JSON.stringify(e)).toBe(true)
  })

  it('a hook still running when the service exits dies with it: a warning (FailedPreStopHook in a cluster)', async () => {
    const { result, marker } = run('lameduck-service', {
      preStopExec: hook('shutdown'),
      env: { ...ENV, SLEEP_AFTER_MS: '20000' },
    })
    const r = await result
    expect(r.preStopExec).toMatchObject({ diedWithContainer: true, exitCode: null, exitSignal: 'SIGKILL', error: null })
    // It had called /shutdown; the service exited as it answered, and took the hook along.
    expect(r.preStopExec?.stdout).toContain('calling /shutdown')
    expect(r.lameduck).toMatchObject({ trigger: 'http', exitCode: 0 })
    expect(r.passed).toBe(true)
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^preStop exec .*hook\.mjs shutdown was still running when replica A exited, and died with it/,
      ),
    ])
    await expectNoneLeft(marker)
  })

  it('a non-zero exit fails the run: FailedPreStopHook, with the exit code and what it said', async () => {
    const r = await run('well-behaved', { preStopExec: hook('fail') }).result
    expect(r.preStopExec).toMatchObject({
      exitCode: 3,
      stdout: ['calling /shutdown'],
      stderr: ['error: connect ECONNREFUSED 127.0.0.1:9'],
    })
    expect(r.failed).toBe(0)
    expect(r.passed).toBe(false)
    expect(r.reasons).toEqual([
      `preStop exec ${process.execPath} ${fixture('hook')} fail exited with code 3 (the kubelet records FailedPreStopHook and sends SIGTERM): error: connect ECONNREFUSED 127.0.0.1:9`,
    ])
  })

  it('a command that does not exist fails the run at once, and the stop signal follows', async () => {
    const r = await run('well-behaved', { preStopExec: ['lameduck-no-such-hook', '--now'] }).result
    expect(r.preStopExec).toMatchObject({ error: 'ENOENT', exitCode: null })
    expect(r.signalAtMs).toBeLessThan(500)
    expect(r.reasons).toEqual([
      'preStop exec lameduck-no-such-hook --now failed: command not found: lameduck-no-such-hook (the kubelet records FailedPreStopHook and sends SIGTERM at once)',
    ])
  })

  it('counts against the grace period, and SIGKILL comes no sooner than 2 s after it', async () => {
    // grace 1.5 s − hook 0.6 s leaves 0.9 s: the 2 s minimum after the hook wins, as for httpGet.
    const { result, marker } = run('ignores-sigterm', { grace: '1.5s', preStopExec: hook('sleep', '600') })
    const r = await result
    expect(r.preStopExec).toMatchObject({ exitCode: 0 })
    expect(r.preStopExec?.durationMs).toBeGreaterThanOrEqual(590)
    expect(r.signalAtMs).toBeGreaterThanOrEqual(590)
    expect(r.sigkill).toBe(true)
    expect(r.terminationToExitMs - r.signalAtMs).toBeGreaterThanOrEqual(1950)
    expect(r.terminationToExitMs - r.signalAtMs).toBeLessThan(2600)
    await expectNoneLeft(marker)
  })

  it('a hook that never ends is waited for the grace period, then left to die with the container', async () => {
    const hookMarker = newMarker()
    const { result, marker } = run('well-behaved', { grace: '1s', preStopExec: hook('sleep', '600000', hookMarker) })
    const r = await result
    expect(r.preStopExec).toMatchObject({ error: 'timeout', exitCode: null })
    expect(r.signalAtMs).toBeGreaterThanOrEqual(990)
    expect(r.signalAtMs).toBeLessThan(1600)
    expect(r.reasons).toContain(
      `preStop exec ${hook('sleep', '600000', hookMarker).join(' ')} did not finish within the 1000 ms grace period`,
    )
    // Gone with replica A, not left running on the machine.
    expect(leftovers(hookMarker)).toBe('')
    await expectNoneLeft(marker)
  })
})
