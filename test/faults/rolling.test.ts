import { fileURLToPath } from 'node:url'
import { type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { expect, it } from 'vitest'
import { killChildrenAfterEach, LONG, MARKER, waitForNone } from './support.js'

// Rolling terminations one after the other through the kubelet simulator: every one must drop nothing
// and end without SIGKILL — not just the first. Alternates the preStop /shutdown hook and SIGTERM only.
const TOKEN = 'faults-token-0123456789abcdef'
const server = fileURLToPath(new URL('../../examples/plain-http/server.mjs', import.meta.url))
const ROUNDS = LONG ? 20 : 3

killChildrenAfterEach()

it(
  `${ROUNDS} rolling terminations in a row: zero failed requests, no SIGKILL, every time`,
  async () => {
    const results: string[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const preStop: Partial<SimulationOptions> =
        round % 2 === 1 ? { preStop: '/shutdown', preStopHeaders: { authorization: `Bearer ${TOKEN}` } } : {}
      // The marker rides along as an ignored argument, so the replicas can be looked for afterwards.
      const r = await simulateTermination({
        command: [process.execPath, server, MARKER],
        env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, DRAIN_DELAY_MS: '600' },
        propagation: '400ms',
        warmup: '400ms',
        tail: '200ms',
        grace: '10s',
        concurrency: 32,
        ...preStop,
      })
      const summary = `round ${round} (${r.preStop ? 'preStop' : 'SIGTERM'}): ${r.requests} requests, ${r.failed} failed ${JSON.stringify(r.failures)}, exit ${r.exitCode}/${r.exitSignal}, sigkill ${r.sigkill}`
      results.push(summary)
      expect(r.failed, summary).toBe(0)
      expect(r.failures, summary).toEqual({})
      expect(r.sigkill, summary).toBe(false)
      expect(r.exitCode, summary).toBe(0)
      expect(r.passed, summary).toBe(true)
      // Load really flowed through the termination (a run with no requests would pass vacuously).
      expect(r.requests, summary).toBeGreaterThan(100)
      if (r.preStop) expect(r.preStop.status, summary).toBe(200)
      // The readiness delay was honoured, and the exit came long before the 10 s grace period.
      expect(r.terminationToExitMs, summary).toBeGreaterThanOrEqual(450)
      expect(r.terminationToExitMs, summary).toBeLessThan(5000)
      // Both replicas are gone once the simulation returns.
      expect(await waitForNone(MARKER), summary).toEqual([])
    }
    console.log(results.join('\n'))
  },
  30_000 + ROUNDS * 6_000,
)
