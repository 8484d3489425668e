// closeWebSockets against real ws servers and clients on loopback: the close codes the clients see, that the
// closes are spread (measured on the clients' close times, with generous bounds: a busy 2-core machine), the
// termination at the deadline, the HTTP drain of the same server leaving the sockets to it, remove().
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { drainHttpServer } from '@lameduck/http'
import { closeWebSockets, WS_DEFAULTS } from '@lameduck/ws'
import { describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { itSpreadsTheCloses } from '../../../test/support/long-lived.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { client, clientsOf, closeAfter, echo, echoServer, listen, rawClient } from './helpers.js'

describe('closeWebSockets: every connection is told to reconnect elsewhere', () => {
  it('sends 1012 with its reason by default, cleanly, and reports what it did', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 200 })
    const port = await listen(server)
    const clients = await clientsOf(port, 5)
    await echo(clients[0]!, 'hello')
    expect(closing.connections()).toBe(5)
    const report = await shutdown.shutdown()
    const seen = await Promise.all(clients.map((c) => c.closed))
    for (const closed of seen) expect(closed).toMatchObject({ code: 1012, reason: WS_DEFAULTS.reason })
    expect(taskReport(report, 'ws-close')).toMatchObject({ outcome: 'ok', phase: 'drain' })
    expect(closing.stats).toMatchObject({
      connectionsAtStart: 5,
      closeSent: 5,
      closed: 5,
      terminated: 0,
      unsentBytes: 0,
      acceptedDuringDrain: 0,
      windowMs: 200,
    })
    expect(closing.connections()).toBe(0)
  })

  it('sends the code and reason it is given (1001, Going Away)', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    closeWebSockets(shutdown, wss, { code: 1001, reason: 'bye', spreadMs: 0 })
    const port = await listen(server)
    const [c] = await clientsOf(port, 1)
    await shutdown.shutdown()
    expect(await c!.closed).toMatchObject({ code: 1001, reason: 'bye' })
  })

  itSpreadsTheCloses({
    task: 'ws-close',
    async start(shutdown, options) {
      const { server, wss } = echoServer()
      const closing = closeWebSockets(shutdown, wss, options)
      return { port: await listen(server), closing }
    },
    clientsOf,
    closedAt: async (c) => (await c.closed).at,
  })
})

describe('closeWebSockets: the deadline', () => {
  it('terminates a client that never completes the close handshake, counts what it had queued, and fails the task', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 0, timeoutMs: 800 })
    const port = await listen(server)
    const polite = await client(port)
    const deaf = await rawClient(port, { read: false })
    // 8 MB the deaf client never reads: more than the loopback buffers hold.
    await delay(50)
    for (let i = 0; i < 8; i++) for (const ws of wss.clients) ws.send(Buffer.alloc(1 << 20))
    const started = performance.now()
    const report = await shutdown.shutdown()
    const took = performance.now() - started
    expect((await polite.closed).code).toBe(1012)
    // (The deaf client reads nothing, so it does not notice the termination: the server's side tells.)
    void deaf
    expect(took).toBeGreaterThan(600)
    expect(took).toBeLessThan(3000)
    const task = taskReport(report, 'ws-close')
    expect(task).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_WS_TERMINATED' })
    expect(closing.stats).toMatchObject({ connectionsAtStart: 2, closed: 1, terminated: 1 })
    expect(closing.stats!.unsentBytes).toBeGreaterThan(0)
    expect(report.exitCode).not.toBe(0)
  })

  it('critical: false keeps the exit code at 0 when connections had to be terminated', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    closeWebSockets(shutdown, wss, { spreadMs: 0, timeoutMs: 400, critical: false })
    const port = await listen(server)
    await rawClient(port, { read: false })
    await delay(50)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'ws-close').outcome).toBe('error')
    expect(report.exitCode).toBe(0)
  })
})

describe('closeWebSockets: connections that arrive during the shutdown', () => {
  it('serves new connections during the drain delay, and closes them with the rest at the drain', async () => {
    const shutdown = testShutdown({ drainDelayMs: 400 })
    const { server, wss } = echoServer()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 0 })
    const port = await listen(server)
    const early = await client(port)
    const run = shutdown.shutdown()
    await delay(100)
    const during = await client(port)
    await echo(during, 'still served')
    await run
    expect((await early.closed).code).toBe(1012)
    expect((await during.closed).code).toBe(1012)
    expect(closing.stats).toMatchObject({ connectionsAtStart: 2, acceptedDuringDrain: 0 })
  })

  it('a connection accepted while the closes are being spread is told to go at once', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 1500, timeoutMs: 4000 })
    const port = await listen(server)
    await clientsOf(port, 3)
    const run = shutdown.shutdown()
    await delay(200)
    const late = await client(port)
    const opened = performance.now()
    const closed = await late.closed
    expect(closed.code).toBe(1012)
    expect(closed.at - opened).toBeLessThan(500)
    await run
    expect(closing.stats).toMatchObject({ connectionsAtStart: 3, acceptedDuringDrain: 1, closed: 4, terminated: 0 })
  })

  it('a new WebSocket during an adaptive drain delay counts as an arrival (probes do not)', async () => {
    const shutdown = testShutdown({ drainDelayMs: { minMs: 100, maxMs: 3000, quietMs: 400 } })
    const { server, wss } = echoServer()
    closeWebSockets(shutdown, wss, { spreadMs: 0 })
    const port = await listen(server)
    const run = shutdown.shutdown()
    await delay(150)
    await client(port)
    const report = await run
    expect(report.drainDelay).toMatchObject({ arrivals: 1, endedBy: 'quiet' })
    expect(report.drainDelay.durationMs).toBeGreaterThanOrEqual(500)
  })
})

describe('closeWebSockets with the HTTP drain of the same server', () => {
  it('the HTTP drain leaves the upgraded sockets to it: closed with 1012 even after the HTTP drain is over', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    const http = drainHttpServer(shutdown, server, { timeoutMs: 400, checkTimeouts: false })
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 1200, timeoutMs: 4000 })
    const port = await listen(server)
    const clients = await clientsOf(port, 12)
    const report = await shutdown.shutdown()
    for (const closed of await Promise.all(clients.map((c) => c.closed))) expect(closed.code).toBe(1012)
    expect(taskReport(report, 'http-drain').outcome).toBe('ok')
    expect(http.stats).toMatchObject({ handedOver: 12, forced: 0, upgradedForced: 0 })
    // The HTTP drain was over long before the last close.
    expect(http.stats!.durationMs).toBeLessThan(400)
    expect(closing.stats).toMatchObject({ closed: 12, terminated: 0 })
    // It stopped accepting: a reconnect to this replica is refused.
    const refused = connect(port, '127.0.0.1')
    await expect(new Promise((_, reject) => refused.once('error', reject))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    })
  })

  it('over https too: the TCP sockets under the TLS ones stay until their close handshake is done', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer({ secure: true })
    const http = drainHttpServer(shutdown, server, { timeoutMs: 300, checkTimeouts: false })
    closeWebSockets(shutdown, wss, { spreadMs: 800, timeoutMs: 3000 })
    const port = await listen(server)
    const clients = await clientsOf(port, 6, { secure: true })
    await shutdown.shutdown()
    for (const closed of await Promise.all(clients.map((c) => c.closed))) expect(closed.code).toBe(1012)
    expect(http.stats).toMatchObject({ handedOver: 6, forced: 0 })
  })

  it('remove() gives the sockets back to the HTTP drain, which cuts them at its deadline as before (1006)', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    const http = drainHttpServer(shutdown, server, { timeoutMs: 300, checkTimeouts: false })
    const closing = closeWebSockets(shutdown, wss)
    const port = await listen(server)
    const clients = await clientsOf(port, 3)
    closing.remove()
    closing.remove()
    const report = await shutdown.shutdown()
    for (const closed of await Promise.all(clients.map((c) => c.closed))) expect(closed.code).toBe(1006)
    expect(report.phases.flatMap((p) => p.tasks.map((t) => t.name))).toEqual(['http-drain'])
    expect(http.stats).toMatchObject({ handedOver: 0, upgradedForced: 3 })
    expect(closing.stats).toBeUndefined()
  })
})

describe('closeWebSockets: what happens to messages', () => {
  it('what the server sent before the close arrives before it; a late message reaches the application (deliver)', async () => {
    const shutdown = testShutdown()
    const { server, wss, received } = echoServer()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 0 })
    const port = await listen(server)
    const raw = await rawClient(port)
    await delay(50)
    for (const ws of wss.clients) for (let i = 0; i < 20; i++) ws.send(`before-${i}`)
    const run = shutdown.shutdown()
    const close = await raw.frame(0x8)
    expect(close.readUInt16BE(0)).toBe(1012)
    // Every text frame came before the close frame, in order.
    const order = raw.frames.map((f) => (f.opcode === 0x8 ? 'close' : f.payload.toString()))
    expect(order).toEqual([...Array.from({ length: 20 }, (_, i) => `before-${i}`), 'close'])
    // A message sent by the client after the server's close frame: delivered, not answered.
    raw.send(0x1, 'late')
    await delay(50)
    raw.send(0x8, close)
    await run
    expect(received).toEqual(['late'])
    expect(raw.frames.filter((f) => f.opcode === 0x1)).toHaveLength(20)
    expect(closing.stats).toMatchObject({ lateMessages: 1, closed: 1, terminated: 0 })
  })

  it("lateMessages: 'drop' keeps a late message from the application: unanswered means not processed", async () => {
    const shutdown = testShutdown()
    const { server, wss, received } = echoServer()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 0, lateMessages: 'drop' })
    const port = await listen(server)
    const raw = await rawClient(port)
    raw.send(0x1, 'early')
    await raw.frame(0x1)
    const run = shutdown.shutdown()
    const close = await raw.frame(0x8)
    raw.send(0x1, 'late')
    await delay(50)
    raw.send(0x8, close)
    await run
    expect(received).toEqual(['early'])
    expect(closing.stats).toMatchObject({ lateMessages: 1, closed: 1 })
  })
})

describe('closeWebSockets: every way of running a ws server', () => {
  it('without clientTracking: it tracks the connections itself', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer({ clientTracking: false })
    expect(wss.clients).toBeUndefined()
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 100 })
    const port = await listen(server)
    const clients = await clientsOf(port, 4)
    expect(closing.connections()).toBe(4)
    clients[0]!.close()
    await clients[0]!.closed
    await delay(50)
    expect(closing.connections()).toBe(3)
    await shutdown.shutdown()
    for (const c of clients.slice(1)) expect((await c.closed).code).toBe(1012)
    expect(closing.stats).toMatchObject({ connectionsAtStart: 3, closed: 3 })
  })

  it('noServer: the application hands the upgrades over', async () => {
    const shutdown = testShutdown()
    const wss = new WebSocketServer({ noServer: true })
    const server = createServer()
    closeAfter(server)
    closeAfter(wss)
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
    )
    drainHttpServer(shutdown, server, { timeoutMs: 200, checkTimeouts: false })
    const closing = closeWebSockets(shutdown, wss, { spreadMs: 600, timeoutMs: 3000 })
    const port = await listen(server)
    const clients = await clientsOf(port, 3)
    await shutdown.shutdown()
    for (const c of clients) expect((await c.closed).code).toBe(1012)
    expect(closing.stats).toMatchObject({ closed: 3, terminated: 0 })
  })

  it('a server on a port of its own stops accepting at the drain', async () => {
    const shutdown = testShutdown()
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    closeAfter(wss)
    await new Promise((resolve) => wss.once('listening', resolve))
    const { port } = wss.address() as { port: number }
    closeWebSockets(shutdown, wss, { spreadMs: 0 })
    const [c] = await clientsOf(port, 1)
    await shutdown.shutdown()
    expect((await c!.closed).code).toBe(1012)
    const refused = connect(port, '127.0.0.1')
    await expect(new Promise((_, reject) => refused.once('error', reject))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    })
  })

  it('connections accepted before closeWebSockets was called are closed too (found in wss.clients)', async () => {
    const shutdown = testShutdown()
    const { server, wss } = echoServer()
    const port = await listen(server)
    const clients = await clientsOf(port, 2)
    const http = drainHttpServer(shutdown, server, { timeoutMs: 200, checkTimeouts: false })
    closeWebSockets(shutdown, wss, { spreadMs: 500, timeoutMs: 3000 })
    await shutdown.shutdown()
    for (const c of clients) expect((await c.closed).code).toBe(1012)
    // The HTTP drain attached late never saw them (its warning says so); nothing was forced.
    expect(http.stats).toMatchObject({ forced: 0, upgradedForced: 0 })
  })
})
