import { type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'
import { fixture, leftovers, newMarker } from './support.js'

// Load that opens new connections, as load balancers and clients do: what puts a drain delay shorter than the
// endpoint propagation to the test. With keep-alive load, every caller told `Connection: close` settles on
// replica B long before the propagation ends, so a short delay goes unpunished; with churn, callers keep
// opening connections that the proxy sends to A until the propagation is over — refused once A stops accepting.
const TOKEN = 'churn-test-token-0123456789abcdef'

function run(name: string, options: Partial<SimulationOptions> = {}) {
  const marker = newMarker()
  const result = simulateTermination({
    command: [process.execPath, fixture(name), marker],
    warmup: '600ms',
    tail: '300ms',
    grace: '5s',
    concurrency: 32,
    ...options,
  })
  return { result, marker }
}

describe('load models: keep-alive, churn, no keep-alive', () => {
  it('churn n: each caller opens a new connection every n requests; 1 is a connection per request', async () => {
    const quick = { propagation: '300ms', env: { DRAIN_DELAY_MS: '400' } }
    const keepAlive = await run('well-behaved', quick).result
    const churn = await run('well-behaved', { ...quick, churn: 10 }).result
    const none = await run('well-behaved', { ...quick, churn: 1 }).result
    for (const r of [keepAlive, churn, none]) {
      expect(r.failed, JSON.stringify(r.failures)).toBe(0)
      expect(r.passed).toBe(true)
    }
    expect(keepAlive.config.churn).toBeNull()
    expect(churn.config.churn).toBe(10)
    // Keep-alive: one connection per caller, and one more for those A told to reconnect (a few bounce twice).
    expect(keepAlive.load.connections).toBeGreaterThanOrEqual(32)
    expect(keepAlive.load.connections).toBeLessThan(32 * 4)
    // Churn 10: one connection per 10 requests at least, plus one per request replica A answered during its
    // lame duck (each is told Connection: close) — how many that is depends on the machine's speed, so the
    // upper bound is only that it stays far from a connection per request.
    expect(churn.load.connections).toBeGreaterThanOrEqual(churn.load.total / 10)
    expect(churn.load.connections).toBeLessThan(churn.load.total / 3)
    // No keep-alive: a connection per request.
    expect(none.load.connections).toBe(none.load.total)
  })

  it('a fixed drain delay shorter than the propagation: nothing lost under keep-alive, requests lost under churn', async () => {
    // The figure, shortened: a 1 s fixed delay against a 2.5 s propagation.
    const lameduck = (options: Partial<SimulationOptions>) =>
      run('lameduck-service', {
        propagation: '2500ms',
        env: { DRAIN_DELAY_MS: '1000', LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, TERMINATION_GRACE_PERIOD_SECONDS: '5' },
        ...options,
      })
    const { result, marker } = lameduck({})
    const keepAlive = await result
    expect(keepAlive.failed, JSON.stringify(keepAlive.failures)).toBe(0)
    expect(leftovers(marker)).toBe('')

    const churn = await lameduck({ churn: 20 }).result
    expect(churn.failed).toBeGreaterThan(0)
    // New connections the proxy still sent to A after it stopped accepting — refused, or (on a loaded machine)
    // reset when they were still in A's accept queue as it closed its listener.
    expect(Object.keys(churn.failures)).toContain('ECONNREFUSED')
    for (const kind of Object.keys(churn.failures)) expect(['ECONNREFUSED', 'ECONNRESET']).toContain(kind)
    expect(churn.passed).toBe(false)
    expect(churn.reasons[0]).toMatch(/^\d+ requests? failed \(ECONNREFUSED \d+(, ECONNRESET \d+)?\)$/)
  })

  it('a drain delay that covers the propagation loses nothing, churn or not', async () => {
    const r = await run('lameduck-service', {
      churn: 20,
      propagation: '800ms',
      env: { DRAIN_DELAY_MS: '1500', LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, TERMINATION_GRACE_PERIOD_SECONDS: '5' },
    }).result
    expect(r.failed, JSON.stringify(r.failures)).toBe(0)
    expect(r.load.connections).toBeGreaterThan(r.load.total / 20)
    expect(r.passed).toBe(true)
  })
})
