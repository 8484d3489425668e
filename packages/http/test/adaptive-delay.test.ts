// The adaptive drain delay fed by a real server's drain: new connections keep the delay going, the
// kubelet's probes and keep-alive requests on old connections do not.
import { Agent } from 'node:http'
import { createServer as createH2Server } from 'node:http2'
import { drainHttpServer } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'
import { closedAfterEach, get, getH2, type Kind, listen, makeAgent, makeServer, openH2 } from './helpers.js'

const servers = closedAfterEach()
const delayMs = { minMs: 300, maxMs: 8000, quietMs: 600 }

/** Sends `send()` every `everyMs` until `untilMs` after the start; resolves how many succeeded. */
async function every(everyMs: number, untilMs: number, send: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  let ok = 0
  while (performance.now() - start < untilMs) {
    try {
      await send()
      ok++
    } catch {
      // counted by the caller's expectations
    }
    await delay(everyMs)
  }
  return ok
}

for (const kind of ['http', 'https', 'express'] as const satisfies readonly Kind[]) {
  describe(`adaptive drain delay on a ${kind} server`, () => {
    function setup() {
      const shutdown = testShutdown({ drainDelayMs: delayMs, gracePeriodMs: 20_000 })
      const server = makeServer(kind, (_req, res) => res.end('ok'))
      servers.push(server)
      const drain = drainHttpServer(shutdown, server)
      return { shutdown, server, drain }
    }

    it('lasts while new connections arrive, then ends quietMs after the last one', async () => {
      const { shutdown, server } = setup()
      const port = await listen(server)
      const run = shutdown.shutdown()
      // A connection per request for ~1.5 s after the trigger: the load balancers still send.
      const sent = await every(100, 1500, () => get(kind, port, '/', { agent: false }))
      expect(sent).toBeGreaterThan(3)
      const report = await run
      expect(report.drainDelay.mode).toBe('adaptive')
      expect(report.drainDelay.endedBy).toBe('quiet')
      expect(report.drainDelay.sources).toBe(1)
      expect(report.drainDelay.arrivals).toBe(sent)
      // Not before the last arrival + quietMs; well before maxMs.
      expect(report.drainDelay.durationMs).toBeGreaterThanOrEqual((report.drainDelay.lastArrivalMs ?? 0) + 600 - 5)
      expect(report.drainDelay.lastArrivalMs).toBeGreaterThanOrEqual(1000)
      expect(report.drainDelay.durationMs).toBeLessThan(6000)
    })

    it("the kubelet's probes and preStop call, and requests on connections opened before, are not traffic", async () => {
      const { shutdown, server } = setup()
      const port = await listen(server)
      const agent = makeAgent(kind)
      await get(kind, port, '/', { agent }) // a keep-alive connection from before the trigger
      const probes = every(50, 2000, () =>
        get(kind, port, '/readyz', { agent: false, headers: { 'user-agent': 'kube-probe/1.31' } }),
      )
      const preStop = get(kind, port, '/shutdown', { agent: false, headers: { 'user-agent': 'kube-lifecycle/1.31' } })
      const run = shutdown.shutdown()
      await get(kind, port, '/', { agent }) // the old connection: told to close, not an arrival
      const report = await run
      await preStop
      expect(await probes).toBeGreaterThan(3)
      expect(report.drainDelay).toMatchObject({ endedBy: 'quiet', arrivals: 0 })
      // minMs and quietMs from the trigger, not maxMs.
      expect(report.drainDelay.durationMs).toBeLessThan(2000)
      agent.destroy()
    })
  })
}

describe('adaptive drain delay on an HTTP/2 server', () => {
  it('every stream is an arrival, on a new session or an old one (sessions are not moved off before the drain)', async () => {
    const shutdown = testShutdown({ drainDelayMs: delayMs, gracePeriodMs: 20_000 })
    const server = createH2Server((_req, res) => res.end('ok'))
    const drain = drainHttpServer(shutdown, server)
    const port = await listen(server as never)
    const old = openH2(false, port)
    await getH2(old, '/')
    const run = shutdown.shutdown()
    const streams = await every(100, 1500, () => getH2(old, '/'))
    const fresh = openH2(false, port)
    await getH2(fresh, '/')
    await getH2(fresh, '/readyz', { 'user-agent': 'kube-probe/1.31' }) // not traffic
    const report = await run
    expect(streams).toBeGreaterThan(3)
    expect(report.drainDelay).toMatchObject({ endedBy: 'quiet', arrivals: streams + 1 })
    expect(report.drainDelay.lastArrivalMs).toBeGreaterThanOrEqual(1000)
    old.destroy()
    fresh.destroy()
    drain.remove()
    server.close()
  })
})

describe('adaptive drain delay: removing the drain', () => {
  it('takes its traffic source away (the delay, unfed, then waits maxMs and warns)', async () => {
    const shutdown = testShutdown({ drainDelayMs: { minMs: 0, maxMs: 400, quietMs: 100 } })
    const server = makeServer('http', (_req, res) => res.end('ok'))
    servers.push(server)
    drainHttpServer(shutdown, server).remove()
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.code))
    const report = await shutdown.shutdown()
    expect(report.drainDelay).toMatchObject({ endedBy: 'max', sources: 0 })
    expect(warnings).toContain('LAMEDUCK_WARN_DRAIN_DELAY_UNFED')
  })

  it('a keep-alive agent (reusing sockets) counts only the sockets it opens', async () => {
    const shutdown = testShutdown({ drainDelayMs: delayMs, gracePeriodMs: 20_000 })
    const server = makeServer('http', (_req, res) => res.end('ok'))
    servers.push(server)
    drainHttpServer(shutdown, server)
    const port = await listen(server)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const run = shutdown.shutdown()
    // Every response during the delay says Connection: close, so each request opens a new socket.
    const sent = await every(100, 800, () => get('http', port, '/', { agent }))
    const report = await run
    expect(report.drainDelay.arrivals).toBe(sent)
    agent.destroy()
  })
})
