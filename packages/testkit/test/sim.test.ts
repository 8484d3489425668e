import { once } from 'node:events'
import { type AddressInfo, createServer } from 'node:net'
import { type SimulationOptions, SimulatorError, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'
import { expectNoneLeft, fixture, leftovers, newMarker, reapersOf } from './support.js'

/** Runs a fixture service under the simulator with short timings; the marker finds leftover processes. */
function run(name: string, options: Partial<SimulationOptions> = {}) {
  const marker = newMarker()
  const result = simulateTermination({
    command: [process.execPath, fixture(name), marker],
    warmup: '600ms',
    propagation: '500ms',
    tail: '300ms',
    grace: '5s',
    env: { DRAIN_DELAY_MS: '800' },
    ...options,
  })
  return { result, marker }
}

/** Runs `use` with a loopback port held by a server of the test's own, closed afterwards. */
async function withPortTaken(use: (port: number) => Promise<void>): Promise<void> {
  const taken = createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  try {
    await use((taken.address() as AddressInfo).port)
  } finally {
    taken.close()
  }
}

describe('the simulator tells a correct shutdown from a broken one', () => {
  for (const attempt of [1, 2]) {
    it(`well-behaved service: 0 failed requests (run ${attempt})`, async () => {
      const { result, marker } = run('well-behaved')
      const r = await result
      expect(r.failures).toEqual({})
      expect(r.failed).toBe(0)
      expect(r.sigkill).toBe(false)
      expect(r.passed).toBe(true)
      expect(r.exitCode).toBe(0)
      expect(r.requests).toBeGreaterThan(500)
      // It drained after its 800 ms delay, not before.
      expect(r.terminationToExitMs).toBeGreaterThanOrEqual(800)
      // Not a lameduck service: no report to read a timeline from.
      expect(r.lameduck).toBeNull()
      expect(leftovers(marker)).toBe('')
      expect(reapersOf()).toEqual([])
    })

    it(`bare server.close() under keep-alive load: failures or SIGKILL (run ${attempt})`, async () => {
      const r = await run('bare-close').result
      expect(r.passed).toBe(false)
      expect(r.failed > 0 || r.sigkill).toBe(true)
    })

    it(`exit on SIGTERM: failures (run ${attempt})`, async () => {
      const r = await run('exit-immediately').result
      expect(r.passed).toBe(false)
      expect(r.failed).toBeGreaterThan(0)
      expect(r.exitSignal).toBe('SIGTERM')
      expect(Object.keys(r.failures).every((kind) => ['ECONNRESET', 'ECONNREFUSED'].includes(kind))).toBe(true)
    })
  }

  it('bursty load with think time, long requests and a preStop call', async () => {
    const r = await run('well-behaved', {
      think: '20ms',
      // Each caller on a connection of its own, used every few ms. With one shared keep-alive pool (LIFO, as
      // Node's Agent), think time leaves sockets at the bottom of the pool unused for the whole delay: the
      // fixture ends them then, and a stall of the load process (a busy CI machine) lets a burst of callers
      // pick such a socket while its FIN is still unread — the residual keep-alive race (docs/concepts.md)
      // that the simulator rightly counts, and not what this test is about.
      churn: 1_000_000,
      long: '400ms',
      longCount: 3,
      preStop: '/slow?ms=200',
      preStopHeaders: { authorization: 'Bearer x' },
    }).result
    expect(r.failures).toEqual({})
    expect(r.failed).toBe(0)
    expect(r.long).toMatchObject({ total: 3, ok: 3, failed: 0, durationMs: 400 })
    expect(r.preStop).toMatchObject({ path: '/slow?ms=200', status: 200, error: null })
    expect(r.preStop!.durationMs).toBeGreaterThanOrEqual(190)
    // The stop signal comes after the preStop hook returns.
    expect(r.signalAtMs).toBeGreaterThanOrEqual(190)
  })

  it('SIGKILLs the whole process group when the grace period is spent', async () => {
    const { result, marker } = run('ignores-sigterm', { grace: '2.5s' })
    const r = await result
    expect(r.sigkill).toBe(true)
    expect(r.exitSignal).toBe('SIGKILL')
    expect(r.terminationToExitMs).toBeGreaterThanOrEqual(2490)
    expect(r.terminationToExitMs).toBeLessThan(3500)
    expect(r.lastOutput).toContain('SIGTERM ignored')
    expect(r.passed).toBe(false)
    await expectNoneLeft(marker)
  })
})

describe('the kubelet side: preStop, grace period, stop signal', () => {
  // Short, light runs: these tests time the termination, not the load.
  const quick = { warmup: '300ms', propagation: '300ms', tail: '100ms', concurrency: 16 } as const

  it('preStop time counts against the grace period, but SIGKILL comes no sooner than 2 s after preStop', async () => {
    // grace 1.5 s − preStop 0.6 s leaves 0.9 s: the 2 s minimum after the preStop wins.
    const { result, marker } = run('ignores-sigterm', { ...quick, grace: '1.5s', preStop: '/slow?ms=600' })
    const r = await result
    expect(r.preStop).toMatchObject({ status: 200, error: null })
    expect(r.signalAtMs).toBeGreaterThanOrEqual(590)
    expect(r.config.graceMs - r.signalAtMs).toBeLessThan(2000)
    expect(r.lastOutput).toContain('SIGTERM ignored')
    expect(r.sigkill).toBe(true)
    expect(r.exitSignal).toBe('SIGKILL')
    // Signal → SIGKILL: the 2 s minimum, not the 0.9 s left of the grace period nor the full 1.5 s.
    expect(r.terminationToExitMs - r.signalAtMs).toBeGreaterThanOrEqual(1950)
    expect(r.terminationToExitMs - r.signalAtMs).toBeLessThan(2500)
    await expectNoneLeft(marker)
  })

  it('without a hook, a grace period under 2 s still leaves 2 s between the signal and SIGKILL, as the kubelet does', async () => {
    const { result, marker } = run('ignores-sigterm', { ...quick, grace: '1s' })
    const r = await result
    expect(r.signalAtMs).toBeLessThan(100)
    expect(r.sigkill).toBe(true)
    expect(r.terminationToExitMs).toBeGreaterThanOrEqual(1950)
    expect(r.terminationToExitMs).toBeLessThan(2600)
    await expectNoneLeft(marker)
  })

  it('with more than 2 s of grace left after preStop, SIGKILL comes at the grace period from termination start', async () => {
    // grace 3.5 s − preStop 0.8 s leaves 2.7 s: SIGKILL at 3.5 s from termination start (4.3 s if the grace
    // period restarted at the signal, 2.8 s if only the 2 s minimum applied).
    const { result, marker } = run('ignores-sigterm', { ...quick, grace: '3.5s', preStop: '/slow?ms=800' })
    const r = await result
    expect(r.preStop).toMatchObject({ status: 200, error: null })
    expect(r.signalAtMs).toBeGreaterThanOrEqual(790)
    expect(r.config.graceMs - r.signalAtMs).toBeGreaterThan(2000)
    expect(r.sigkill).toBe(true)
    expect(r.exitSignal).toBe('SIGKILL')
    expect(r.terminationToExitMs).toBeGreaterThanOrEqual(3450)
    expect(r.terminationToExitMs).toBeLessThan(4000)
    await expectNoneLeft(marker)
  })

  it('a preStop hook that never answers is waited for at most the grace period, then the signal is sent', async () => {
    const { result, marker } = run('exit-immediately', { ...quick, grace: '1s', preStop: '/slow?ms=600000' })
    const r = await result
    expect(r.preStop).toMatchObject({ path: '/slow?ms=600000', status: null, error: 'timeout', body: '' })
    expect(r.preStop!.durationMs).toBeGreaterThanOrEqual(990)
    expect(r.preStop!.durationMs).toBeLessThan(1500)
    expect(r.signalAtMs).toBeGreaterThanOrEqual(990)
    expect(r.signalAtMs).toBeLessThan(1500)
    // The stop signal still came and ended the service, long before the 2 s SIGKILL.
    expect(r.exitSignal).toBe('SIGTERM')
    expect(r.sigkill).toBe(false)
    expect(r.terminationToExitMs - r.signalAtMs).toBeLessThan(1000)
    await expectNoneLeft(marker)
  })

  it('a non-default stop signal reaches the service', async () => {
    const { result, marker } = run('logs-signal', { ...quick, grace: '3s', signal: 'SIGINT' })
    const r = await result
    expect(r.signal).toBe('SIGINT')
    expect(r.lastOutput).toContain('received SIGINT')
    expect(r.lastOutput).not.toContain('received SIGTERM')
    expect(r.exitCode).toBe(0)
    expect(r.exitSignal).toBeNull()
    expect(r.sigkill).toBe(false)
    expect(r.terminationToExitMs).toBeLessThan(1000)
    await expectNoneLeft(marker)
  })
})

describe('bad input and faults fail fast and clean', () => {
  const expectError = async (promise: Promise<unknown>, code: string, message: RegExp) => {
    const started = performance.now()
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SimulatorError)
    expect(error).toMatchObject({ code })
    expect((error as Error).message).toMatch(message)
    expect(performance.now() - started).toBeLessThan(5000)
    return error as SimulatorError
  }

  it('a command that does not exist', async () => {
    await expectError(
      simulateTermination({ command: ['definitely-not-a-command-xyz'] }),
      'LAMEDUCK_ERR_SIM_COMMAND_NOT_FOUND',
      /command not found: definitely-not-a-command-xyz/,
    )
  })

  it('a service that exits at start, with its output', async () => {
    const error = await expectError(run('exits-at-start').result, 'LAMEDUCK_ERR_SIM_EXITED_AT_START', /code 1/)
    expect(error.output).toContain('config error: DATABASE_URL is not set')
  })

  it('a service that never listens', async () => {
    const { result, marker } = run('never-listens', { startupTimeout: '800ms' })
    await expectError(result, 'LAMEDUCK_ERR_SIM_NEVER_LISTENED', /never listened on PORT .* within 800 ms/)
    expect(leftovers(marker)).toBe('')
  })

  it('a proxy port already taken', async () => {
    await withPortTaken(async (port) => {
      await expectError(
        run('well-behaved', { proxyPort: port }).result,
        'LAMEDUCK_ERR_SIM_PORT_IN_USE',
        new RegExp(`${port}`),
      )
    })
  })

  it('a replica whose port is taken', async () => {
    // The service ignores PORT and listens on LISTEN_PORT, held here: it dies of EADDRINUSE at start.
    await withPortTaken(async (port) => {
      const { result, marker } = run('port-taken', { env: { LISTEN_PORT: String(port) } })
      const error = await expectError(
        result,
        'LAMEDUCK_ERR_SIM_PORT_IN_USE',
        new RegExp(`^replica [AB] could not listen: port ${port} is already in use$`),
      )
      expect(error.output.some((line) => line.includes('EADDRINUSE'))).toBe(true)
      expect(leftovers(marker)).toBe('')
    })
  })

  it('a service that crashes mid-run', async () => {
    const { result, marker } = run('crash-after', { env: { CRASH_AFTER_MS: '300' }, warmup: '2s' })
    const error = await expectError(result, 'LAMEDUCK_ERR_SIM_REPLICA_CRASHED', /exited unexpectedly with code 3/)
    expect(error.output).toContain('fatal: something broke')
    expect(leftovers(marker)).toBe('')
  })

  it('an abort kills everything', async () => {
    const controller = new AbortController()
    const { result, marker } = run('ignores-sigterm', { warmup: '10s', signalAbort: controller.signal })
    setTimeout(() => controller.abort(), 700)
    await expectError(result, 'LAMEDUCK_ERR_SIM_ABORTED', /aborted/)
    await expectNoneLeft(marker)
    expect(reapersOf()).toEqual([])
  })

  it('invalid options are refused before anything starts', async () => {
    await expect(simulateTermination({ command: [] })).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    await expect(simulateTermination({ command: ['node'], grace: '5 parsecs' })).rejects.toMatchObject({
      code: 'LAMEDUCK_ERR_INVALID_DURATION',
    })
    await expect(simulateTermination({ command: ['node'], concurrency: 0 })).rejects.toThrow(/concurrency/)
    // Core's errors, not a SimulatorError: the simulator has no option error code of its own.
    for (const [bad, code] of [
      [{ signal: 'TERM' as NodeJS.Signals }, 'LAMEDUCK_ERR_UNKNOWN_SIGNAL'],
      [{ signal: 'SIGFOO' as NodeJS.Signals }, 'LAMEDUCK_ERR_UNKNOWN_SIGNAL'],
      [{ preStopPort: 'metrics' as 'admin' }, 'LAMEDUCK_ERR_INVALID_OPTION'],
      [{ preStop: 'shutdown' }, 'LAMEDUCK_ERR_INVALID_OPTION'],
    ] as const) {
      const error = await simulateTermination({ command: ['node'], ...bad }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code })
      expect(error).not.toBeInstanceOf(SimulatorError)
    }
  })

  it('an unknown stop signal is refused by name, before any replica starts', async () => {
    // A service that would run fine: without the check the simulation would start and SIGFOO go nowhere.
    const { result, marker } = run('well-behaved', { signal: 'SIGFOO' as NodeJS.Signals, grace: '1s' })
    const started = performance.now()
    const error = await result.catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_UNKNOWN_SIGNAL', signal: 'SIGFOO' })
    expect((error as Error).message).toMatch(
      /^cannot handle signal "SIGFOO": not a signal this platform knows: as the stop signal/,
    )
    expect(performance.now() - started).toBeLessThan(200)
    expect(leftovers(marker)).toBe('')
  })
})

describe('the kube-proxy side', () => {
  it('replica A gets new connections until --propagation has passed, and none after', async () => {
    // The fixture answers every request with Connection: close, so each request opens a connection the proxy
    // routes afresh, and keeps accepting for 2 s after SIGTERM: whatever the proxy still sends it after the 1 s
    // propagation would show up.
    const { result, marker } = run('counts-connections', {
      propagation: '1s',
      grace: '6s',
      concurrency: 16,
      env: { DRAIN_DELAY_MS: '2000' },
    })
    const r = await result
    const line = r.lastOutput.find((l) => l.startsWith('accepted '))
    const match = /^accepted (\d+) connections after SIGTERM, the last at \+(-?\d+) ms$/.exec(line ?? '')
    expect(match, r.lastOutput.join('\n')).not.toBeNull()
    const [count, lastMs] = [Number(match?.[1]), Number(match?.[2])]
    // No preStop: SIGTERM comes at termination start, so these are ms from termination start (or a little less).
    expect(count).toBeGreaterThan(0)
    expect(lastMs).toBeGreaterThanOrEqual(600)
    expect(lastMs).toBeLessThan(1000 + 400)
    expect(r.signalAtMs).toBeLessThan(100)
    expect(r.terminationToExitMs).toBeGreaterThanOrEqual(2000)
    expect(leftovers(marker)).toBe('')
  })
})

describe('the verdict also fails on the service’s own shutdown, with the reason', () => {
  const TOKEN = 'sim-test-token-0123456789abcdef'
  // Each of these services drops no request: only its exit code, its report or the preStop answer tell.
  const lameduck = (env: Record<string, string>, options: Partial<SimulationOptions> = {}) =>
    run('lameduck-service', {
      env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, DRAIN_DELAY_MS: '800', TERMINATION_GRACE_PERIOD_SECONDS: '5', ...env },
      ...options,
    })

  it('a correct lameduck service passes, with no reason and no warning', async () => {
    const { result, marker } = lameduck(
      {},
      { preStop: '/shutdown', preStopHeaders: { authorization: `Bearer ${TOKEN}` } },
    )
    const r = await result
    expect(r.reasons).toEqual([])
    expect(r.warnings).toEqual([])
    expect(r.passed).toBe(true)
    expect(r.preStop).toMatchObject({ status: 200 })
    expect(r.lameduck).toMatchObject({ trigger: 'http', exitCode: 0, notOk: [] })
    expect(leftovers(marker)).toBe('')
  })

  it('every task skipped (the drain delay took the whole grace period): exit code 1 and the skipped task', async () => {
    // SIGTERM only: the report is read from the JSON `report` line the coordinator writes on stderr.
    const r = await lameduck({ FAULT: 'skip' }).result
    expect(r.failed).toBe(0)
    expect(r.sigkill).toBe(false)
    expect(r.exitCode).toBe(1)
    expect(r.passed).toBe(false)
    expect(r.reasons).toEqual([
      'replica A exited with code 1, the exit code of its shutdown report',
      'the service\'s report: critical task "http-drain" (drain phase) was skipped: no time was left before the deadline',
    ])
    expect(r.lameduck).toMatchObject({ trigger: 'signal', exitCode: 1 })
    expect(r.lameduck?.notOk).toEqual([
      expect.objectContaining({ name: 'http-drain', outcome: 'skipped', critical: true }),
    ])
  })

  it('a critical task timed out, in a service that exits 0 anyway: the report alone fails the run', async () => {
    const r = await lameduck({ FAULT: 'timeout', NO_EXIT: '1' }).result
    expect(r.failed).toBe(0)
    expect(r.exitCode).toBe(0)
    expect(r.passed).toBe(false)
    expect(r.reasons).toEqual([
      'the service\'s report: critical task "flush-cache" (flush phase) timed out after 300 ms',
    ])
  })

  it('a critical task timed out, through the preStop hook: its 500 and the report in its body', async () => {
    const r = await lameduck(
      { FAULT: 'timeout' },
      { preStop: '/shutdown', preStopHeaders: { authorization: `Bearer ${TOKEN}` } },
    ).result
    expect(r.failed).toBe(0)
    expect(r.preStop?.status).toBe(500)
    expect(r.lameduck).toMatchObject({ trigger: 'http', exitCode: 1 })
    expect(r.reasons).toEqual([
      'replica A exited with code 1, the exit code of its shutdown report',
      'the service\'s report: critical task "flush-cache" (flush phase) timed out after 300 ms',
      'preStop /shutdown answered 500: the endpoint reported a failure (see the service’s report)',
    ])
  })

  it('a service that drains perfectly but exits 1', async () => {
    const r = await run('well-behaved', { env: { DRAIN_DELAY_MS: '800', EXIT_CODE: '1' } }).result
    expect(r.failed).toBe(0)
    expect(r.exitCode).toBe(1)
    expect(r.passed).toBe(false)
    expect(r.reasons).toEqual(['replica A exited with code 1'])
  })

  it('a preStop path the service does not serve (404)', async () => {
    const r = await lameduck({}, { preStop: '/shutdwn', preStopHeaders: { authorization: `Bearer ${TOKEN}` } }).result
    // The stop signal still shut it down cleanly: in a cluster nobody would notice.
    expect(r.failed).toBe(0)
    expect(r.exitCode).toBe(0)
    expect(r.preStop?.status).toBe(404)
    expect(r.passed).toBe(false)
    expect(r.reasons).toHaveLength(1)
    expect(r.reasons[0]).toMatch(
      new RegExp(`^preStop /shutdwn answered 404: no such path on port ${r.preStop?.port} — check the hook's path`),
    )
  })

  it('a preStop /shutdown with a wrong token (401)', async () => {
    const r = await lameduck({}, { preStop: '/shutdown', preStopHeaders: { authorization: 'Bearer not-the-token' } })
      .result
    expect(r.failed).toBe(0)
    expect(r.exitCode).toBe(0)
    expect(r.preStop?.status).toBe(401)
    expect(r.reasons).toEqual([
      expect.stringMatching(
        /^preStop \/shutdown answered 401: the token header is missing or wrong \(the Authorization header sent does not match/,
      ),
    ])
  })

  it('a service that does not know the grace period: a warning, not a failure', async () => {
    // No TERMINATION_GRACE_PERIOD_SECONDS (Kubernetes does not set it): the service plans for its 30 s default.
    const r = await run('lameduck-service', { env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, DRAIN_DELAY_MS: '800' } }).result
    expect(r.passed).toBe(true)
    expect(r.lameduck?.deadlineAtMs).toBeGreaterThan(25_000)
    expect(r.warnings).toEqual([
      expect.stringMatching(
        /^the service planned its shutdown up to \d+ ms after termination start, but the kubelet sends SIGKILL at 5000 ms: tell it the grace period/,
      ),
    ])
  })
})

describe('replicas get the environment Kubernetes gives every container, and nothing it does not', () => {
  const envLine = (output: string[]) => {
    const line = output.find((l) => l.startsWith('env '))
    expect(line, output.join('\n')).toBeDefined()
    return JSON.parse((line as string).slice(4)) as Record<string, string>
  }

  it('KUBERNETES_* of the kubernetes Service, HOSTNAME = the pod name, no TERMINATION_GRACE_PERIOD_SECONDS', async () => {
    const { result, marker } = run('env-dump', { grace: '5s' })
    const r = await result
    const seen = envLine(r.lastOutput)
    expect(seen).toEqual({
      ADMIN_PORT: expect.stringMatching(/^\d+$/),
      HOSTNAME: expect.stringMatching(/^lameduck-sim-[b-z2-9]{10}-[b-z2-9]{5}$/),
      KUBERNETES_PORT: 'tcp://10.96.0.1:443',
      KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
      KUBERNETES_PORT_443_TCP_PORT: '443',
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      PORT: expect.stringMatching(/^\d+$/),
    })
    // What the result says it set is what the replica saw (with run()'s env).
    expect(r.environment).toEqual({ ...seen, DRAIN_DELAY_MS: '800' })
    expect(r.passed).toBe(true)
    expect(leftovers(marker)).toBe('')
  })

  it('the pod spec’s own variables come from env, which can also override the pod’s', async () => {
    const r = await run('env-dump', {
      env: { DRAIN_DELAY_MS: '800', TERMINATION_GRACE_PERIOD_SECONDS: '5', HOSTNAME: 'web-0' },
    }).result
    const seen = envLine(r.lastOutput)
    expect(seen).toMatchObject({ TERMINATION_GRACE_PERIOD_SECONDS: '5', HOSTNAME: 'web-0' })
    expect(seen.KUBERNETES_SERVICE_HOST).toBe('10.96.0.1')
  })
})
