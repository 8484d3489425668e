import { main, type SimulationOptions, SimulatorError, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'
import { expectNoneLeft, fixture, newMarker } from './support.js'

// The warming-up fixture is a lameduck service whose start-up task keeps /readyz at 503 for READY_AFTER_MS
// (1500 by default) after it listens, and answers every other request 500 meanwhile.
const READY_AFTER_MS = 1500

function run(options: Partial<SimulationOptions> = {}, env: Record<string, string> = {}) {
  const marker = newMarker()
  const result = simulateTermination({
    command: [process.execPath, fixture('warming-up'), marker],
    warmup: '600ms',
    propagation: '500ms',
    tail: '300ms',
    grace: '5s',
    env: { DRAIN_DELAY_MS: '800', TERMINATION_GRACE_PERIOD_SECONDS: '5', ...env },
    ...options,
  })
  return { result, marker }
}

describe('readinessPath: traffic only once the readiness probe answers 200', () => {
  it('with /readyz, a service that warms up for 1.5 s after it listens drops nothing', async () => {
    const { result, marker } = run({ readinessPath: '/readyz' })
    const r = await result
    expect(r.failures).toEqual({})
    expect(r.failed).toBe(0)
    expect(r.requests).toBeGreaterThan(100)
    expect(r.passed).toBe(true)
    expect(r.readiness?.path).toBe('/readyz')
    // From the replica's start: its node start, then the 1.5 s warm-up.
    for (const ms of Object.values(r.readiness?.readyAfterMs ?? {})) {
      expect(ms).toBeGreaterThanOrEqual(READY_AFTER_MS)
      expect(ms).toBeLessThan(10_000)
    }
    await expectNoneLeft(marker)
  }, 40_000)

  it('without it, the requests sent before the warm-up ends fail (HTTP 500): the gating is what saves them', async () => {
    const { result, marker } = run()
    const r = await result
    expect(r.readiness).toBeNull()
    expect(r.passed).toBe(false)
    expect(r.failed).toBeGreaterThan(0)
    expect(Object.keys(r.failures)).toEqual(['HTTP 500'])
    await expectNoneLeft(marker)
  }, 40_000)

  it('a service that never gets ready fails the run within startupTimeout, naming its last answer', async () => {
    const { result, marker } = run({ readinessPath: '/readyz', startupTimeout: '2500ms' }, { READY_AFTER_MS: 'never' })
    const started = performance.now()
    const error = await result.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SimulatorError)
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_SIM_NEVER_READY' })
    expect((error as Error).message).toMatch(
      /^replica [AB] listened but never got ready within 2500 ms: GET \/readyz on PORT \d+ last answered 503 .*"status":"starting"/,
    )
    // At most the timeout, one request's timeout and a poll later (generous on a busy machine).
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(2000)
    expect(elapsed).toBeLessThan(2500 + 5000)
    await expectNoneLeft(marker)
  }, 30_000)

  it('a path that is not one is refused before anything starts', async () => {
    for (const readinessPath of ['readyz', '', null, 3])
      await expect(
        simulateTermination({ command: ['definitely-not-run-lameduck'], readinessPath } as SimulationOptions),
      ).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION', message: expect.stringMatching(/^readinessPath/) })
  })
})

describe('lameduck-sim --readiness', () => {
  const capture = () => {
    const out: string[] = []
    const err: string[] = []
    return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } }
  }

  it('gates the replicas on the path, and exits 2 with the new code when one never gets ready', async () => {
    const marker = newMarker()
    const { err, io } = capture()
    const code = await main(
      [
        '--readiness',
        '/readyz',
        '--startup-timeout',
        '2s',
        '--env',
        'READY_AFTER_MS=never',
        '--',
        process.execPath,
        fixture('warming-up'),
        marker,
      ],
      io,
    )
    expect(err.join('')).toMatch(/never got ready within 2000 ms: GET \/readyz .* \[LAMEDUCK_ERR_SIM_NEVER_READY\]\n/)
    expect(code).toBe(2)
    await expectNoneLeft(marker)
  }, 30_000)

  it('prints how long each replica took to get ready', async () => {
    const marker = newMarker()
    const { out, io } = capture()
    const code = await main(
      [
        ...['--readiness', '/readyz', '--warmup', '400ms', '--propagation', '300ms', '--tail', '200ms'],
        ...['--grace', '5s', '--env', 'TERMINATION_GRACE_PERIOD_SECONDS=5'],
        ...['--', process.execPath, fixture('warming-up'), marker],
      ],
      io,
    )
    const text = out.join('')
    expect(text).toMatch(/readiness +GET \/readyz → 200 after \d+ ms \(A\), \d+ ms \(B\): traffic only then/)
    expect(text).toMatch(/^0 of [1-9]\d* requests failed$/m)
    expect(code).toBe(0)
    await expectNoneLeft(marker)
  }, 40_000)
})
