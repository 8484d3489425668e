// HTTP/1.1 pipelining: a client that sends several requests before reading any response. Node's parser
// reads them all, hands them to the application and queues the responses; it ends the socket after the
// first response that says `Connection: close` and drops those queued behind it. Every request read must
// be answered.
import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { ShutdownOptions } from '@lameduck/core'
import { drainHttpServer } from '@lameduck/http'
import { afterEach, describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'
import { type Kind, listen, makeServer, parseResponses, pipelined, rawConnect, readUntilClosed } from './helpers.js'

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

/** A server answering `/<anything>?ms=N` with its path, after N ms (at once, synchronously, for 0). */
function setup(kind: Kind, options: ShutdownOptions = {}) {
  const shutdown = testShutdown(options)
  const server = makeServer(kind, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const ms = Number(url.searchParams.get('ms') ?? 0)
    if (ms === 0) res.end(url.pathname)
    else setTimeout(() => res.end(url.pathname), ms)
  })
  servers.push(server)
  return { shutdown, server }
}

async function connect(kind: Kind, port: number): Promise<Socket> {
  const socket = await rawConnect(kind, port)
  sockets.push(socket)
  return socket
}

const paths = (count: number, ms: (i: number) => number) => Array.from({ length: count }, (_, i) => `/${i}?ms=${ms(i)}`)
const bodies = (count: number) => Array.from({ length: count }, (_, i) => `/${i}`)

for (const kind of ['http', 'https', 'express'] as const) {
  describe(`pipelined requests on a ${kind} server`, () => {
    for (const count of [3, 10])
      for (const [answer, ms] of [
        ['at once', () => 0],
        ['later, out of order', (i: number) => 10 + ((count - i) % 4) * 15],
      ] as const)
        it(`${count} in one write during the drain delay, answered ${answer}: every one gets its response`, async () => {
          const { shutdown, server } = setup(kind, { drainDelayMs: 400 })
          const drain = drainHttpServer(shutdown, server, { checkTimeouts: false })
          const port = await listen(server)
          const run = shutdown.shutdown()
          const socket = await connect(kind, port)
          const read = readUntilClosed(socket)
          socket.write(pipelined(paths(count, ms)))
          const responses = parseResponses(await read)
          expect(responses.map((r) => r.body)).toEqual(bodies(count))
          expect(responses.every((r) => r.status === 200)).toBe(true)
          // The last one asks the client to go; the socket closes after it, from the server's side.
          expect(responses.at(-1)?.connection).toBe('close')
          if (answer !== 'at once')
            // Answered after the next request was read: only the last response asks to close.
            expect(responses.slice(0, -1).every((r) => r.connection !== 'close')).toBe(true)
          const report = await run
          expect(report.exitCode).toBe(0)
          expect(drain.stats).toMatchObject({ forced: 0, requestsCut: 0 })
        })

    it('10 in one write in the drain phase, on a keep-alive socket opened before the trigger', async () => {
      const { shutdown, server } = setup(kind, { drainDelayMs: 100 })
      // idleMs longer than the test: the socket is not ended as idle before the client writes.
      const drain = drainHttpServer(shutdown, server, { checkTimeouts: false, idleMs: 3000 })
      const port = await listen(server)
      const socket = await connect(kind, port)
      const before = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(String(chunk))))
      socket.write(pipelined(['/before']))
      expect(parseResponses(await before)[0]).toMatchObject({ body: '/before', connection: 'keep-alive' })
      const inDrain = new Promise<void>((resolve) =>
        shutdown.on('phaseStart', ({ phase }) => {
          if (phase === 'drain') resolve()
        }),
      )
      const run = shutdown.shutdown()
      await inDrain
      const read = readUntilClosed(socket)
      socket.write(pipelined(paths(10, (i) => (i % 3) * 10)))
      const responses = parseResponses(await read)
      expect(responses.map((r) => r.body)).toEqual(bodies(10))
      expect(responses.at(-1)?.connection).toBe('close')
      const report = await run
      expect(report.exitCode).toBe(0)
      expect(drain.stats).toMatchObject({ forced: 0, idleEnded: 0 })
    })
  })
}

describe('pipelined requests: details', () => {
  it('read before the trigger and answered after it: every one answered, the socket asked to close later', async () => {
    const held: ServerResponse[] = []
    const shutdown = testShutdown({ drainDelayMs: 300 })
    const server = makeServer('http', (req, res) => {
      if (req.url === '/next') res.end('/next')
      else held.push(res)
    })
    servers.push(server)
    drainHttpServer(shutdown, server, { checkTimeouts: false })
    const port = await listen(server)
    const socket = await connect('http', port)
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      data += chunk
    })
    socket.write(pipelined(['/a', '/b', '/c']))
    while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 5))
    const run = shutdown.shutdown()
    for (const [i, res] of held.entries()) res.end(['/a', '/b', '/c'][i])
    while (parseResponses(data, true).length < 3) {
      expect(socket.destroyed).toBe(false)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(parseResponses(data, true).map((r) => r.body)).toEqual(['/a', '/b', '/c'])
    // Their responses were queued out of sight at the trigger: none of them could carry the close, so the
    // socket stays open until its next request, which is asked to close.
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(pipelined(['/next']))
    await closed
    expect(parseResponses(data).at(-1)).toMatchObject({ body: '/next', connection: 'close' })
    expect((await run).exitCode).toBe(0)
  })
})
