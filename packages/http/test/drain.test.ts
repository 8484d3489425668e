import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import type { Shutdown, ShutdownOptions } from '@lameduck/core'
import { DrainForcedError, drainHttpServer } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { delay, memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { closed, closedAfterEach, get, type Kind, listen, makeAgent, makeServer } from './helpers.js'

const servers = closedAfterEach()

function setup(kind: Kind, options: ShutdownOptions = {}) {
  const shutdown = testShutdown(options)
  const server = makeServer(kind, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/slow') {
      setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms') ?? 300))
      return
    }
    res.end('ok')
  })
  servers.push(server)
  return { shutdown, server }
}

// One suite, every server kind: http, https, and an Express app.
for (const kind of ['http', 'https', 'express'] as const) {
  describe(`draining a ${kind} server`, () => {
    it('serves normally during the drain delay, with Connection: close on every response', async () => {
      const { shutdown, server } = setup(kind, { drainDelayMs: 300 })
      drainHttpServer(shutdown, server)
      const port = await listen(server)
      const agent = makeAgent(kind)
      const before = await get(kind, port, '/', { agent })
      expect(before.headers.connection).toBe('keep-alive')
      const run = shutdown.shutdown()
      const during = await get(kind, port, '/', { agent })
      expect(during.status).toBe(200)
      expect(during.socket).toBe(before.socket)
      expect(during.headers.connection).toBe('close')
      await closed(during.socket)
      // Still accepting new connections while readiness propagates.
      const fresh = await get(kind, port, '/')
      expect(fresh.status).toBe(200)
      const report = await run
      expect(report.exitCode).toBe(0)
      agent.destroy()
    })

    it('stops accepting at the drain, lets in-flight requests finish, ends idle sockets', async () => {
      const { shutdown, server } = setup(kind)
      const drain = drainHttpServer(shutdown, server, { idleMs: 50 })
      const port = await listen(server)
      // An idle keep-alive socket, used once before the shutdown.
      const idleAgent = makeAgent(kind)
      const idle = await get(kind, port, '/', { agent: idleAgent })
      const slow = get(kind, port, '/slow?ms=400', { agent: makeAgent(kind) })
      await delay(50)
      const started = performance.now()
      const run = shutdown.shutdown()
      await delay(30)
      await expect(get(kind, port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
      const reply = await slow
      expect(reply.body).toBe('slow')
      expect(reply.headers.connection).toBe('close')
      await closed(idle.socket)
      const report = await run
      expect(report.exitCode).toBe(0)
      expect(performance.now() - started).toBeLessThan(1500)
      expect(drain.stats).toMatchObject({ forced: 0, requestsCut: 0, idleEnded: 1, requestsAtStart: 1 })
      expect(drain.connections()).toBe(0)
    })

    it('force-closes what remains at the drain deadline and reports it', async () => {
      const { shutdown, server } = setup(kind)
      // A budget with room for a busy machine: forced at stopAt(), 50 ms before the deadline, the drain must
      // have settled by the deadline (or it is an overrun, not the drain's own error).
      const drain = drainHttpServer(shutdown, server, { timeoutMs: 1_500 })
      const port = await listen(server)
      // In flight when the shutdown starts, however long the (TLS) connection takes on a busy machine.
      const arrived = once(server, 'request')
      const slow = get(kind, port, '/slow?ms=5000').catch((error: NodeJS.ErrnoException) => error)
      await arrived
      const started = performance.now()
      const report = await shutdown.shutdown()
      expect(performance.now() - started).toBeLessThan(4_000)
      expect(await slow).toMatchObject({ code: 'ECONNRESET' })
      const task = taskReport(report, 'http-drain')
      expect(task).toMatchObject({ name: 'http-drain', outcome: 'error', code: 'LAMEDUCK_ERR_DRAIN_FORCED' })
      expect(task.error).toMatch(/force-closed 1 connection\(s\) at the drain deadline \(1 request/)
      expect(drain.stats).toMatchObject({ forced: 1, requestsCut: 1 })
      expect(report.exitCode).toBe(1)
    })
  })
}

describe('draining: details', () => {
  it('hands upgraded sockets and open responses to onDrain, and force-closes upgraded ones left open', async () => {
    const { shutdown, server } = setup('http')
    server.on('upgrade', (_req, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
      socket.on('data', (data) => socket.write(data))
    })
    const seen: { upgraded: number; responses: number; deadline: number }[] = []
    const drain = drainHttpServer(shutdown, server, {
      timeoutMs: 1_500,
      onDrain: (context) =>
        seen.push({
          upgraded: context.upgraded.length,
          responses: context.responses.length,
          deadline: context.deadline,
        }),
    })
    const port = await listen(server)
    const client = connect(port, '127.0.0.1')
    client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    await new Promise((resolve) => client.once('data', resolve))
    const arrived = once(server, 'request')
    const stream = get('http', port, '/slow?ms=400')
    await arrived
    const before = Date.now()
    const report = await shutdown.shutdown()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ upgraded: 1, responses: 1 })
    expect(seen[0]!.deadline).toBeGreaterThan(before)
    expect((await stream).body).toBe('slow')
    await closed(client)
    expect(drain.stats).toMatchObject({ upgradedForced: 1, forced: 1, requestsCut: 0 })
    expect(report.exitCode).toBe(1)
  })

  it('an upgraded socket the app closes in onDrain does not hold the drain', async () => {
    const { shutdown, server } = setup('http')
    server.on('upgrade', (_req, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    })
    const drain = drainHttpServer(shutdown, server, {
      onDrain: ({ upgraded }) => {
        for (const socket of upgraded) socket.end('goodbye')
      },
    })
    const port = await listen(server)
    const client = connect(port, '127.0.0.1')
    let received = ''
    client.on('data', (data) => {
      received += data
    })
    client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    await delay(50)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(received).toContain('goodbye')
    expect(drain.stats?.forced).toBe(0)
  })

  it('an onDrain that throws or rejects is logged and the drain goes on: no run error, exit code 0', async () => {
    for (const hook of [
      () => {
        throw new Error('sync bug')
      },
      async () => {
        throw new Error('async bug')
      },
    ]) {
      const logger = memoryLogger()
      const { shutdown, server } = setup('http', { logger })
      drainHttpServer(shutdown, server, { onDrain: hook })
      await listen(server)
      const report = await shutdown.shutdown()
      await delay(20)
      expect(report.exitCode).toBe(0)
      expect(taskReport(report, 'http-drain')).toMatchObject({ outcome: 'ok' })
      expect(logger.entries.map((entry) => entry.fields.event)).toContain('http.onDrain.error')
      expect(report.errors ?? []).toEqual([])
    }
  })

  it('warns when attached after connections were accepted, and picks them up at their next request', async () => {
    const warnings: string[] = []
    const { shutdown, server } = setup('http')
    shutdown.on('warning', (w) => warnings.push(w.code))
    const port = await listen(server)
    const agent = makeAgent('http')
    const first = await get('http', port, '/', { agent })
    drainHttpServer(shutdown, server, { checkTimeouts: false })
    await delay(20)
    expect(warnings).toContain('LAMEDUCK_WARN_DRAIN_ATTACHED_LATE')
    const run = shutdown.shutdown()
    const second = await get('http', port, '/', { agent })
    expect(second.socket).toBe(first.socket)
    expect(second.headers.connection).toBe('close')
    expect((await run).exitCode).toBe(0)
    agent.destroy()
  })

  it('warns about keepAliveTimeout below 60 s and headersTimeout not above it, with the fix', async () => {
    const warnings: { code: string; message: string }[] = []
    const { shutdown, server } = setup('http')
    shutdown.on('warning', (w) => warnings.push(w))
    server.keepAliveTimeout = 5000
    server.headersTimeout = 4000
    drainHttpServer(shutdown, server)
    await listen(server)
    expect(warnings.map((w) => w.code)).toEqual(['LAMEDUCK_WARN_KEEPALIVE_TIMEOUT', 'LAMEDUCK_WARN_HEADERS_TIMEOUT'])
    expect(warnings[0]?.message).toContain('server.keepAliveTimeout = 65000')

    const quiet: string[] = []
    const other = setup('http')
    other.shutdown.on('warning', (w) => quiet.push(w.code))
    other.server.keepAliveTimeout = 65_000
    other.server.headersTimeout = 66_000
    drainHttpServer(other.shutdown, other.server)
    await listen(other.server)
    expect(quiet).toEqual([])
  })

  it('names the tasks of several servers apart and rejects what is not a server', () => {
    const shutdown: Shutdown = testShutdown()
    drainHttpServer(
      shutdown,
      makeServer('http', () => {}),
      { checkTimeouts: false },
    )
    drainHttpServer(
      shutdown,
      makeServer('http', () => {}),
      { checkTimeouts: false },
    )
    expect(() => shutdown.addTask({ name: 'http-drain-2', run: () => {} })).toThrow(/already registered/)
    expect(() => drainHttpServer(shutdown, {} as never)).toThrow(/expected a node:http/)
    expect(new DrainForcedError({} as never).code).toBe('LAMEDUCK_ERR_DRAIN_FORCED')
  })
})
