import { fileURLToPath } from 'node:url'
import { type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'

// A few rolling terminations of real lameduck services through the simulator, in every mode the
// README promises; `pnpm bench zero-drop` runs the full 10× matrix.
const TOKEN = 'e2e-token-0123456789abcdef'
const services = {
  'plain node:http': fileURLToPath(new URL('../../examples/plain-http/server.mjs', import.meta.url)),
  express: fileURLToPath(new URL('./fixtures/express-app.mjs', import.meta.url)),
  fastify: fileURLToPath(new URL('./fixtures/fastify-app.mjs', import.meta.url)),
}
const drainDelayMs = 800

const base: Partial<SimulationOptions> = {
  env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, DRAIN_DELAY_MS: String(drainDelayMs) },
  warmup: '600ms',
  propagation: '500ms',
  tail: '300ms',
  grace: '20s',
}
const preStop: Partial<SimulationOptions> = {
  preStop: '/shutdown',
  preStopHeaders: { authorization: `Bearer ${TOKEN}` },
}

describe.each(Object.entries(services))('zero dropped requests: %s', (_name, file) => {
  const scenarios: [string, Partial<SimulationOptions>][] = [
    ['SIGTERM only, concurrency 64', { concurrency: 64 }],
    ['preStop /shutdown, concurrency 256, bursty', { ...preStop, concurrency: 256, think: '20ms' }],
    ['preStop /shutdown with long requests in flight', { ...preStop, concurrency: 64, long: '1200ms' }],
  ]
  for (const [title, options] of scenarios) {
    it(title, async () => {
      const r = await simulateTermination({ command: [process.execPath, file], ...base, ...options })
      expect(r.failures).toEqual({})
      expect(r.failed).toBe(0)
      expect(r.sigkill).toBe(false)
      expect(r.exitCode).toBe(0)
      if (r.preStop) expect(r.preStop.status).toBe(200)
      const expectedExit = Math.max(drainDelayMs, r.long.total > 0 ? r.long.durationMs : 0)
      expect(r.terminationToExitMs).toBeGreaterThanOrEqual(expectedExit - 100)
      // Generous bounds (a drain stuck on keep-alive sockets would wait out its 10 s timeout); the benchmark
      // measures the overheads precisely. From the termination start, the kubelet's view, the bound also
      // allows for the preStop connection waiting on a saturated replica (a dropped SYN is retried after 1 s);
      // from the trigger, the service's own time, it does not.
      const log = `replica A's log:\n${r.lastOutput.join('\n')}`
      expect(r.terminationToExitMs, `slow exit; ${log}`).toBeLessThan(expectedExit + 3000)
      expect(r.long.ok).toBe(r.long.total)
      // The service's own report, found in the preStop body or its last log lines: triggered by the preStop
      // call or the signal, finished before the exit.
      expect(r.lameduck, log).toMatchObject({ exitCode: 0 })
      expect(r.lameduck!.triggeredAtMs).toBeGreaterThanOrEqual(-5)
      expect(r.terminationToExitMs - Math.max(0, r.lameduck!.triggeredAtMs), `slow exit; ${log}`).toBeLessThan(
        expectedExit + 1000,
      )
      expect(r.lameduck!.finishedAtMs - r.lameduck!.triggeredAtMs).toBeGreaterThanOrEqual(drainDelayMs - 5)
      expect(r.lameduck!.finishedAtMs).toBeLessThanOrEqual(r.terminationToExitMs + 5)
    })
  }
})
