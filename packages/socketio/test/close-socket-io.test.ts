// closeSocketIo against real socket.io servers and socket.io-client on loopback, over WebSocket and HTTP
// long-polling: the disconnect reason the clients see (and that they reconnect on it, where
// `socket.disconnect(true)` would not), that the closes are spread (measured on the clients, with generous
// bounds: a busy 2-core machine), the deadline, the HTTP drain of the same server, acknowledgements.
import { Agent, request } from 'node:http'
import { drainHttpServer } from '@lameduck/http'
import { closeSocketIo } from '@lameduck/socket.io'
import { describe, expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { itSpreadsTheCloses } from '../../../test/support/long-lived.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import {
  client,
  clientsOf,
  deafPollingClient,
  deafWebSocketClient,
  echoServer,
  listen,
  POLLING,
  until,
  WEBSOCKET,
} from './helpers.js'

describe('socket.io itself: which close makes a client reconnect', () => {
  for (const [transport, options] of [
    ['websocket', WEBSOCKET],
    ['polling', POLLING],
  ] as const)
    it(`over ${transport}: disconnect(true) gives "io server disconnect" and no reconnect; closing the transport gives "transport close" and a reconnect`, async () => {
      const { server, io } = echoServer()
      const port = await listen(server)
      const reconnecting = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100, ...options }
      const [kicked, moved] = await clientsOf(port, 2, reconnecting)
      io.sockets.sockets.get(kicked!.id!)!.disconnect(true)
      io.sockets.sockets.get(moved!.id!)!.conn.close()
      expect((await kicked!.gone).reason).toBe('io server disconnect')
      expect((await moved!.gone).reason).toBe('transport close')
      await until(() => moved!.connects() === 2, 3000, 'the reconnect')
      await delay(300)
      expect(kicked!.connects()).toBe(1)
      expect(kicked!.connected).toBe(false)
    })
})

describe('closeSocketIo: every connection is told to reconnect elsewhere', () => {
  for (const [transport, options] of [
    ['websocket', WEBSOCKET],
    ['polling', POLLING],
    ['polling upgraded to websocket', {}],
  ] as const)
    it(`over ${transport}: "transport close" on every client, in order, and the stats say so`, async () => {
      const shutdown = testShutdown()
      const { server, io, reasons } = echoServer()
      const closing = closeSocketIo(shutdown, io, { spreadMs: 200 })
      const port = await listen(server)
      const clients = await clientsOf(port, 5, options)
      if (transport.includes('upgraded'))
        await until(() => clients.every((c) => c.io.engine.transport.name === 'websocket'))
      expect(await clients[0]!.emitWithAck('echo', 'hello')).toBe('hello')
      expect(closing.connections()).toBe(5)
      const report = await shutdown.shutdown()
      for (const seen of await Promise.all(clients.map((c) => c.gone))) expect(seen.reason).toBe('transport close')
      expect(taskReport(report, 'socket.io-close')).toMatchObject({ outcome: 'ok', phase: 'drain' })
      expect(closing.stats).toMatchObject({
        connectionsAtStart: 5,
        pollingAtStart: transport === 'polling' ? 5 : 0,
        closeSent: 5,
        closed: 5,
        terminated: 0,
        unsentPackets: 0,
        acceptedDuringDrain: 0,
        windowMs: 200,
      })
      expect(reasons).toEqual(Array(5).fill('forced close'))
      expect(closing.connections()).toBe(0)
    })

  itSpreadsTheCloses({
    task: 'socket.io-close',
    async start(shutdown, options) {
      const { server, io } = echoServer()
      const closing = closeSocketIo(shutdown, io, options)
      return { port: await listen(server), closing }
    },
    clientsOf: (port, n) => clientsOf(port, n, WEBSOCKET),
    closedAt: async (c) => (await c.gone).at,
  })

  it('connections of every namespace go with their engine.io connection', async () => {
    const shutdown = testShutdown()
    const { server, io } = echoServer()
    io.of('/admin').on('connection', () => {})
    const closing = closeSocketIo(shutdown, io, { spreadMs: 0 })
    const port = await listen(server)
    const root = await client(port, WEBSOCKET)
    const admin = root.io.socket('/admin')
    await new Promise<void>((resolve) => admin.once('connect', () => resolve()))
    const adminGone = new Promise<string>((resolve) => admin.once('disconnect', resolve))
    await shutdown.shutdown()
    expect((await root.gone).reason).toBe('transport close')
    expect(await adminGone).toBe('transport close')
    expect(closing.stats).toMatchObject({ connectionsAtStart: 1, closed: 1 })
  })
})

describe('closeSocketIo: connections that arrive during the shutdown', () => {
  it('serves new connections during the drain delay, and closes them with the rest at the drain', async () => {
    const shutdown = testShutdown({ drainDelayMs: 400 })
    const { server, io } = echoServer()
    const closing = closeSocketIo(shutdown, io, { spreadMs: 0 })
    const port = await listen(server)
    const early = await client(port, WEBSOCKET)
    const run = shutdown.shutdown()
    await delay(100)
    const during = await client(port, POLLING)
    expect(await during.emitWithAck('echo', 'still served')).toBe('still served')
    await run
    expect((await early.gone).reason).toBe('transport close')
    expect((await during.gone).reason).toBe('transport close')
    expect(closing.stats).toMatchObject({ connectionsAtStart: 2, acceptedDuringDrain: 0, closed: 2 })
  })

  it('a new WebSocket client during an adaptive drain delay counts as an arrival', async () => {
    const shutdown = testShutdown({ drainDelayMs: { minMs: 100, maxMs: 3000, quietMs: 400 } })
    const { server, io } = echoServer()
    closeSocketIo(shutdown, io, { spreadMs: 0 })
    const port = await listen(server)
    const run = shutdown.shutdown()
    await delay(150)
    await client(port, WEBSOCKET)
    const report = await run
    expect(report.drainDelay).toMatchObject({ arrivals: 1, endedBy: 'quiet' })
    expect(report.drainDelay.durationMs).toBeGreaterThanOrEqual(500)
  })
})

describe('closeSocketIo: after the task', () => {
  it('a handshake on a connection kept alive from before is refused (400, Connection: close): nobody would close it', async () => {
    const shutdown = testShutdown()
    const { server, io } = echoServer()
    closeSocketIo(shutdown, io, { spreadMs: 0 })
    const port = await listen(server)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const ask = (path: string) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) =>
        request({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume()
          res.once('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }))
        })
          .once('error', reject)
          .end(),
      )
    expect((await ask('/')).status).toBe(200)
    await shutdown.shutdown()
    expect(server.listening).toBe(false)
    expect(await ask('/socket.io/?EIO=4&transport=polling')).toEqual({ status: 400, connection: 'close' })
    expect(io.engine.clientsCount).toBe(0)
    agent.destroy()
  })
})

describe('closeSocketIo with the HTTP drain of the same server', () => {
  for (const [transport, options] of [
    ['websocket', WEBSOCKET],
    ['polling', POLLING],
  ] as const)
    it(`over ${transport}: the HTTP drain leaves the connections to it, and is over long before the last close`, async () => {
      const shutdown = testShutdown()
      const { server, io } = echoServer()
      const http = drainHttpServer(shutdown, server, { timeoutMs: 400, checkTimeouts: false })
      const closing = closeSocketIo(shutdown, io, { spreadMs: 1200, timeoutMs: 4000 })
      const port = await listen(server)
      const clients = await clientsOf(port, 8, options)
      const report = await shutdown.shutdown()
      for (const seen of await Promise.all(clients.map((c) => c.gone))) expect(seen.reason).toBe('transport close')
      expect(taskReport(report, 'http-drain').outcome).toBe('ok')
      expect(taskReport(report, 'socket.io-close').outcome).toBe('ok')
      expect(http.stats).toMatchObject({ forced: 0, requestsCut: 0, upgradedForced: 0 })
      expect(http.stats!.handedOver).toBeGreaterThanOrEqual(8)
      expect(http.stats!.durationMs).toBeLessThan(400)
      expect(closing.stats).toMatchObject({ closed: 8, terminated: 0 })
      expect(server.listening).toBe(false)
    })
})

describe('closeSocketIo: the deadline', () => {
  it('cuts a long-polling client that never polls for its close, counts what was queued, and fails the task', async () => {
    const shutdown = testShutdown()
    const { server, io } = echoServer()
    const closing = closeSocketIo(shutdown, io, { spreadMs: 0, timeoutMs: 800 })
    const port = await listen(server)
    const polite = await client(port, WEBSOCKET)
    await deafPollingClient(port)
    await until(() => io.sockets.sockets.size === 2)
    io.emit('news', 'queued for the deaf one')
    const started = performance.now()
    const report = await shutdown.shutdown()
    const took = performance.now() - started
    expect((await polite.gone).reason).toBe('transport close')
    expect(took).toBeGreaterThan(600)
    expect(took).toBeLessThan(3000)
    expect(taskReport(report, 'socket.io-close')).toMatchObject({
      outcome: 'error',
      code: 'LAMEDUCK_ERR_SOCKETIO_TERMINATED',
    })
    expect(closing.stats).toMatchObject({ connectionsAtStart: 2, pollingAtStart: 1, closed: 1, terminated: 1 })
    // Its CONNECT acknowledgement and the news, never polled for.
    expect(closing.stats!.unsentPackets).toBeGreaterThanOrEqual(2)
    expect(closing.connections()).toBe(0)
    expect(report.exitCode).not.toBe(0)
  })

  it('cuts a WebSocket client that never answers the close, and critical: false keeps the exit code at 0', async () => {
    const shutdown = testShutdown()
    const { server, io } = echoServer()
    const closing = closeSocketIo(shutdown, io, { spreadMs: 0, timeoutMs: 500, critical: false })
    const port = await listen(server)
    const deaf = await deafWebSocketClient(port)
    await until(() => closing.connections() === 1)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'socket.io-close').outcome).toBe('error')
    expect(closing.stats).toMatchObject({ connectionsAtStart: 1, closeSent: 1, terminated: 1 })
    // Cut: the client, reading again, finds its connection gone.
    const gone = new Promise((resolve) => deaf.once('close', resolve))
    deaf.resume()
    await gone
    expect(report.exitCode).toBe(0)
  })
})

describe('closeSocketIo: what happens to messages', () => {
  for (const [transport, options] of [
    ['websocket', WEBSOCKET],
    ['polling', POLLING],
  ] as const)
    it(`over ${transport}: everything emitted before the close arrives before it, in order`, async () => {
      const shutdown = testShutdown()
      const { server, io } = echoServer()
      closeSocketIo(shutdown, io, { spreadMs: 0 })
      const port = await listen(server)
      const c = await client(port, options)
      const seen: string[] = []
      c.on('news', (n: string) => seen.push(n))
      c.on('disconnect', (reason) => seen.push(reason))
      for (let i = 0; i < 50; i++) io.emit('news', `news-${i}`)
      await shutdown.shutdown()
      await c.gone
      expect(seen).toEqual([...Array.from({ length: 50 }, (_, i) => `news-${i}`), 'transport close'])
    })

  it('a server emit awaiting its acknowledgement at the close: the timeout callback says it was not acknowledged', async () => {
    const shutdown = testShutdown()
    const { server, io } = echoServer()
    const closing = closeSocketIo(shutdown, io, { spreadMs: 0 })
    const port = await listen(server)
    const c = await client(port, WEBSOCKET)
    // The client acknowledges `ask` 300 ms late: after its connection is closed.
    c.on('ask', (n: number, ack: (n: number) => void) => setTimeout(() => ack(n), n === 1 ? 0 : 300))
    const socket = io.sockets.sockets.get(c.id!)!
    expect(await socket.timeout(1000).emitWithAck('ask', 1)).toBe(1)
    const late = socket.timeout(800).emitWithAck('ask', 2)
    const lateWithout = { called: false }
    socket.emit('ask', 3, () => {
      lateWithout.called = true
    })
    await delay(20)
    await shutdown.shutdown()
    await expect(late).rejects.toThrow('operation has timed out')
    expect(lateWithout.called).toBe(false)
    expect(closing.stats).toMatchObject({ acksPending: 2, closed: 1 })
  })

  it('a client emit the server had not acknowledged at the close: the client is told at once that it was not', async () => {
    const shutdown = testShutdown()
    const { server, io, received } = echoServer()
    io.on('connection', (socket) =>
      socket.on('slow', (text: string, ack: (text: string) => void) => setTimeout(() => ack(text), 300)),
    )
    closeSocketIo(shutdown, io, { spreadMs: 0 })
    const port = await listen(server)
    const c = await client(port, WEBSOCKET)
    let processed = 0
    io.on('connection', () => {})
    io.sockets.sockets.get(c.id!)!.on('slow', () => processed++)
    const pending = c.timeout(5000).emitWithAck('slow', 'in flight')
    await until(() => processed === 1)
    const started = performance.now()
    await shutdown.shutdown()
    // Processed by the server, never acknowledged: the client's callback fails when the connection goes (not
    // at its 5 s timeout); a client that resends it (socket.io-client's `retries`) has it processed twice.
    await expect(pending).rejects.toThrow('socket has been disconnected')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(received).toEqual([])
  })
})

describe('closeSocketIo: remove()', () => {
  it('gives the sockets back to the HTTP drain, which cuts them at its deadline as before', async () => {
    const shutdown = testShutdown()
    const { server, io } = echoServer()
    const http = drainHttpServer(shutdown, server, { timeoutMs: 300, checkTimeouts: false })
    const closing = closeSocketIo(shutdown, io)
    const port = await listen(server)
    const clients = await clientsOf(port, 3, WEBSOCKET)
    closing.remove()
    closing.remove()
    const report = await shutdown.shutdown()
    await Promise.all(clients.map((c) => c.gone))
    expect(report.phases.flatMap((p) => p.tasks.map((t) => t.name))).toEqual(['http-drain'])
    expect(http.stats).toMatchObject({ handedOver: 0, upgradedForced: 3 })
    expect(closing.stats).toBeUndefined()
  })
})

describe('closeSocketIo: the private fields it reads (internals.ts), and without them', () => {
  it('finds connections made before it was called in engine.io clients; without that field, only later ones', async () => {
    for (const hidden of [false, true]) {
      const shutdown = testShutdown()
      const { server, io } = echoServer()
      const port = await listen(server)
      const early = await client(port, WEBSOCKET)
      const engine = hidden ? hiding(io.engine, 'clients') : io.engine
      const view = new Proxy(io, { get: (target, key) => (key === 'engine' ? engine : Reflect.get(target, key)) })
      const closing = closeSocketIo(shutdown, view, { spreadMs: 0 })
      const late = await client(port, WEBSOCKET)
      await shutdown.shutdown()
      expect((await late.gone).reason).toBe('transport close')
      expect(closing.stats!.connectionsAtStart, `hidden: ${hidden}`).toBe(hidden ? 1 : 2)
      // Not found, the early one is not spread, nor waited for: io.close() at the end closes it at once.
      expect((await early.gone).reason).toBe('transport close')
    }
  })
})
