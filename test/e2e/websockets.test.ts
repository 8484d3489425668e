import { fileURLToPath } from 'node:url'
import { type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'

// WebSocket clients through the simulator's proxy (`ws`): a real ws echo service with lameduck — every
// client of A told 1012 at the drain, spread over 2 s, reconnected to B — against the control, the same
// service closing as services commonly do without it, which the simulator must catch.
const TOKEN = 'e2e-ws-token-0123456789abcdef'
const service = fileURLToPath(new URL('./fixtures/ws-service.mjs', import.meta.url))
const base: SimulationOptions = {
  command: [process.execPath, service],
  ws: 200,
  wsInterval: '50ms',
  concurrency: 16,
  warmup: '800ms',
  propagation: '500ms',
  tail: '500ms',
}

describe('WebSocket clients through the simulator', () => {
  it('with lameduck: every client of A told 1012 and reconnected, none dropped, no failed reconnect, 0 lost', async () => {
    const r = await simulateTermination({
      ...base,
      env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, DRAIN_DELAY_MS: '800', SPREAD_MS: '2000' },
      grace: '20s',
      preStop: '/shutdown',
      preStopHeaders: { authorization: `Bearer ${TOKEN}` },
    })
    const log = `reasons: ${r.reasons.join('; ')}\nreplica A's log:\n${r.lastOutput.join('\n')}`
    const ws = r.ws!
    expect(ws, log).toMatchObject({ clients: 200, abnormalCloses: 0, failedConnects: 0, lost: 0 })
    expect(r.passed, log).toBe(true)
    // About half the clients were on A (round robin, shared with the HTTP connections): each closed once with
    // 1012, and back on B.
    const closed = ws.closes['1012'] ?? 0
    expect(Object.keys(ws.closes)).toEqual(['1012'])
    expect(closed).toBeGreaterThan(50)
    expect(closed).toBeLessThan(150)
    expect(ws.reconnects).toBe(closed)
    expect(ws.connections).toBe(200 + closed)
    // Spread over 2 s: about a twentieth of them in any 100 ms, not all at once (the bound leaves room for a
    // busy machine, whose stalls bunch the reconnects; the benchmark measures the peak precisely).
    expect(ws.peakReconnectsPer100ms).toBeLessThan(closed / 2)
    expect(ws.acked).toBeGreaterThan(0)
    expect(ws.acked + ws.unanswered).toBe(ws.messages)
    expect(r.failed).toBe(0)
  })

  it('without lameduck: the simulator sees the WebSockets cut (1006), all at once, and fails the run', async () => {
    const r = await simulateTermination({ ...base, env: { LAMEDUCK: '0' }, grace: '3s' })
    const ws = r.ws!
    expect(r.passed).toBe(false)
    expect(ws.abnormalCloses).toBeGreaterThan(10)
    expect(r.reasons.join('\n')).toMatch(/WebSocket connections? dropped without a close frame \(1006\)/)
    expect(ws.closes['1012']).toBeUndefined()
    // Cut together at SIGKILL: the reconnects come back in a burst.
    expect(ws.peakReconnectsPer100ms).toBeGreaterThan(ws.reconnects / 3)
    expect(r.sigkill).toBe(true)
  })
})
