// The drain on a Node without the private fields internals.ts reads (`_httpMessage`, `parser`, `_parent`,
// `_last`…): every fallback forced, the drain still drops nothing. Each tracker reads which path to take when
// it is created, so the whole file runs with the fallbacks on.
import type { Socket } from 'node:net'
import { createProbes, drainHttpServer } from '@lameduck/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { fallbackForTests, internals } from '../src/internals.js'
import {
  closed,
  closedAfterEach,
  get,
  type Kind,
  listen,
  makeAgent,
  makeServer,
  parseResponses,
  pipelined,
  rawConnect,
  readUntilClosed,
} from './helpers.js'

const TOKEN = 'fallback-token-0123456789'
const servers = closedAfterEach()
beforeAll(() => fallbackForTests(true))
afterAll(() => fallbackForTests(false))

function setup(kind: Kind, drainDelayMs: number) {
  const shutdown = testShutdown({ drainDelayMs })
  const probes = createProbes(shutdown, { token: TOKEN })
  const server = makeServer(kind, (req, res) => {
    if (probes(req, res)) return
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0)
    if (ms === 0) res.end('ok')
    else setTimeout(() => res.end('ok'), ms)
  })
  servers.push(server)
  return { shutdown, server }
}

describe('with every fallback forced', () => {
  it('is really the fallback: no private field in use, responses counted from the start; remove() undoes it all', () => {
    expect(internals()).toEqual({ httpMessage: false, tlsParent: false, responseFlags: false })
    const { shutdown, server } = setup('https', 0)
    const before = server.eventNames().map((e) => [e, server.listenerCount(e)])
    const requests = server.listenerCount('request')
    const drain = drainHttpServer(shutdown, server)
    expect(server.listenerCount('request')).toBe(requests + 1)
    server.on('upgrade', () => {})
    expect(server.listenerCount('upgrade')).toBe(2)
    drain.remove()
    server.removeAllListeners('upgrade')
    expect(server.eventNames().map((e) => [e, server.listenerCount(e)])).toEqual(before)
  })

  for (const kind of ['http', 'https', 'express'] as const)
    it(`${kind}: keep-alive clients through the trigger, moved off with Connection: close, zero dropped`, async () => {
      const { shutdown, server } = setup(kind, 300)
      const drain = drainHttpServer(shutdown, server, { checkTimeouts: false })
      const port = await listen(server)
      const clients = Array.from({ length: 4 }, () => makeAgent(kind))
      let stop = false
      let afterTrigger = 0
      const failures: string[] = []
      // Each client sends request after request on its keep-alive socket — reconnecting when asked to —
      // until the endpoints have propagated (here: 200 ms into the 300 ms drain delay).
      const loops = clients.map(async (agent, i) => {
        while (!stop) {
          try {
            const sentAfterTrigger = shutdown.state !== 'running'
            const reply = await get(kind, port, `/?ms=${5 + i * 5}`, { agent })
            if (reply.body !== 'ok') failures.push(`status ${reply.status}`)
            if (sentAfterTrigger) {
              afterTrigger++
              if (reply.headers.connection !== 'close') failures.push('kept alive after the trigger')
            }
          } catch (error) {
            failures.push(String((error as NodeJS.ErrnoException).code ?? error))
          }
        }
      })
      await delay(100)
      const run = shutdown.shutdown()
      await delay(200)
      stop = true
      await Promise.all(loops)
      const report = await run
      for (const agent of clients) agent.destroy()
      expect(failures).toEqual([])
      expect(afterTrigger).toBeGreaterThan(4)
      expect(taskReport(report, 'http-drain').outcome).toBe('ok')
      expect(drain.stats).toMatchObject({ forced: 0, requestsCut: 0 })
    })

  it('https: the /shutdown connection is kept open by the drain (the TCP socket found by its peer)', async () => {
    const { shutdown, server } = setup('https', 0)
    const drain = drainHttpServer(shutdown, server, { checkTimeouts: false, timeoutMs: 1000 })
    // A task after the drain keeps the report pending while the drain cleans up the TCP sockets.
    shutdown.addTask({ name: 'later', phase: 'flush', run: () => delay(100) })
    const port = await listen(server)
    const reply = await get('https', port, '/shutdown', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toMatchObject({ exitCode: 0 })
    expect(drain.stats).toMatchObject({ forced: 0 })
  })

  it('an upgraded socket is seen through the server’s upgrade event, handed to onDrain, not ended as idle', async () => {
    const { shutdown, server } = setup('http', 0)
    const seen: number[] = []
    const drain = drainHttpServer(shutdown, server, {
      checkTimeouts: false,
      idleMs: 0,
      onDrain: ({ upgraded }) => {
        seen.push(upgraded.length)
        for (const socket of upgraded) socket.end('goodbye')
      },
    })
    // The application's upgrade listener comes after the drain.
    const onUpgrade = (_req: unknown, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    }
    server.on('upgrade', onUpgrade)
    const port = await listen(server)
    const client = await rawConnect('http', port)
    const received = readUntilClosed(client)
    client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    await delay(50)
    const report = await shutdown.shutdown()
    expect(seen).toEqual([1])
    expect(await received).toContain('goodbye')
    expect(report.exitCode).toBe(0)
    expect(drain.stats).toMatchObject({ forced: 0, idleEnded: 0 })
    // Without an upgrade listener of the application's, none of the drain's is left either.
    server.off('upgrade', onUpgrade)
    expect(server.listenerCount('upgrade')).toBe(0)
  })

  it('pipelined requests during the drain delay: every one answered, the last one asked to close', async () => {
    const { shutdown, server } = setup('http', 300)
    drainHttpServer(shutdown, server, { checkTimeouts: false })
    const port = await listen(server)
    const run = shutdown.shutdown()
    await delay(20)
    const socket = await rawConnect('http', port)
    const data = readUntilClosed(socket)
    // Answered later and out of order. (Without `_last`, a response already sent with the close cannot
    // be taken back: a request read after it would go unanswered — as on any server that closes.)
    socket.write(pipelined(['/a?ms=40', '/b?ms=20', '/c?ms=10']))
    const responses = parseResponses(await data)
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200])
    expect(responses.map((r) => r.connection)).toEqual(['keep-alive', 'keep-alive', 'close'])
    await closed(socket)
    expect((await run).exitCode).toBe(0)
  })
})
