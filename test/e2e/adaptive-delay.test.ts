import { fileURLToPath } from 'node:url'
import { type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'

// The adaptive drain delay through the simulator: callers that open new connections (churn), endpoint
// propagation the service cannot know, and the kubelet's own preStop call, which is not traffic.
// `pnpm bench adaptive-delay` measures it against fixed delays in the same run.
const TOKEN = 'e2e-token-0123456789abcdef'
const service = fileURLToPath(new URL('./fixtures/express-app.mjs', import.meta.url))
const adaptive = { DRAIN_DELAY_MIN_MS: '500', DRAIN_DELAY_MAX_MS: '12000', DRAIN_DELAY_QUIET_MS: '800' }

const run = (env: Record<string, string>, options: Partial<SimulationOptions>) =>
  simulateTermination({
    command: [process.execPath, service],
    env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, ...env },
    preStop: '/shutdown',
    preStopHeaders: { authorization: `Bearer ${TOKEN}` },
    concurrency: 32,
    churn: 10,
    warmup: '600ms',
    tail: '300ms',
    grace: '20s',
    ...options,
  })

describe('adaptive drain delay through the simulator (connection churn)', () => {
  it('lasts as long as the propagation does, then ends on its own: 0 failed, well before maxMs', async () => {
    const r = await run(adaptive, { propagation: '2500ms' })
    expect(r.failures).toEqual({})
    expect(r.failed).toBe(0)
    expect(r.sigkill).toBe(false)
    expect(r.exitCode).toBe(0)
    const delay = r.lameduck?.drainDelay
    expect(delay).toMatchObject({ mode: 'adaptive', endedBy: 'quiet' })
    // New connections kept arriving until the proxy took replica A out (2.5 s after termination start; the
    // trigger came a little after it), then the delay ended quietMs later.
    expect(delay!.arrivals).toBeGreaterThan(10)
    expect(delay!.lastArrivalMs).toBeGreaterThan(1500)
    expect(delay!.durationMs).toBeGreaterThanOrEqual(delay!.lastArrivalMs! + 800 - 10)
    expect(delay!.durationMs).toBeLessThan(9000)
  }, 60_000)

  it('with short propagation it ends early: the service exits long before a fixed 5 s delay would let it', async () => {
    const r = await run(adaptive, { propagation: '300ms' })
    expect(r.failed).toBe(0)
    expect(r.lameduck?.drainDelay).toMatchObject({ endedBy: 'quiet' })
    expect(r.lameduck!.drainDelay!.durationMs).toBeLessThan(4000)
    expect(r.terminationToExitMs).toBeLessThan(5000)
  }, 60_000)
})
