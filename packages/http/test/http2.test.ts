import { connect, createSecureServer, createServer, type Http2Server } from 'node:http2'
import { type AddressInfo, connect as connectTcp } from 'node:net'
import { connect as connectTls } from 'node:tls'
import type { Shutdown } from '@lameduck/core'
import { drainHttpServer } from '@lameduck/http'
import { afterEach, describe, expect, it } from 'vitest'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { tls } from './helpers.js'

const servers: { close(): void }[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

function handler(req: { url?: string }, res: { end(body: string): void }) {
  const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0)
  setTimeout(() => res.end(`done ${ms}`), ms)
}

function listen(server: Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

/** Resolves once the coordinator has entered `phase`. */
function phaseStarted(shutdown: Shutdown, phase: string): Promise<void> {
  return new Promise((resolve) => {
    const off = shutdown.on('phaseStart', (event) => {
      if (event.phase !== phase) return
      off()
      resolve()
    })
  })
}

function fetchStream(session: ReturnType<typeof connect>, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path })
    let body = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      body += chunk
    })
    stream.once('end', () => resolve(body))
    stream.once('error', reject)
    stream.end()
  })
}

for (const secure of [false, true]) {
  describe(`HTTP/2 (${secure ? 'TLS' : 'cleartext'})`, () => {
    it('sends GOAWAY at the drain, completes in-flight streams, and finishes when sessions close', async () => {
      const shutdown = testShutdown()
      const server = (secure ? createSecureServer(tls, handler) : createServer(handler)) as Http2Server
      servers.push(server)
      const drain = drainHttpServer(shutdown, server)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as AddressInfo).port
      const session = connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, { rejectUnauthorized: false })
      let goaway = false
      session.on('goaway', () => {
        goaway = true
      })
      session.on('error', () => {})
      expect(await fetchStream(session, '/')).toBe('done 0')
      const inFlight = fetchStream(session, '/?ms=300')
      await delay(50)
      const report = await shutdown.shutdown()
      expect(await inFlight).toBe('done 300')
      expect(goaway).toBe(true)
      expect(report.exitCode).toBe(0)
      expect(drain.stats).toMatchObject({ connectionsAtStart: 1, forced: 0 })
      session.close()
    })

    it('destroys sessions still busy at the deadline', async () => {
      const shutdown = testShutdown()
      const server = (secure ? createSecureServer(tls, handler) : createServer(handler)) as Http2Server
      servers.push(server)
      const drain = drainHttpServer(shutdown, server, { timeoutMs: 300 })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as AddressInfo).port
      const session = connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, { rejectUnauthorized: false })
      session.on('error', () => {})
      const stuck = fetchStream(session, '/?ms=10000').catch((error: Error) => error)
      await delay(50)
      const report = await shutdown.shutdown()
      // Cut: the client sees an error or a stream that ended without the body.
      expect(await stuck).not.toBe('done 10000')
      expect(drain.stats).toMatchObject({ sessionsForced: 1, forced: 1 })
      expect(taskReport(report, 'http-drain').code).toBe('LAMEDUCK_ERR_DRAIN_FORCED')
    })

    it('serves new and existing sessions normally during the drain delay; refuses new ones once the drain starts', async () => {
      const shutdown = testShutdown({ drainDelayMs: 400 })
      const server = (secure ? createSecureServer(tls, handler) : createServer(handler)) as Http2Server
      servers.push(server)
      const drain = drainHttpServer(shutdown, server)
      const url = `${secure ? 'https' : 'http'}://127.0.0.1:${await listen(server)}`
      const open = () => {
        const session = connect(url, { rejectUnauthorized: false })
        const seen = { goaway: false }
        session.on('goaway', () => {
          seen.goaway = true
        })
        session.on('error', () => {})
        return { session, seen }
      }
      const existing = open()
      expect(await fetchStream(existing.session, '/')).toBe('done 0')
      const draining = phaseStarted(shutdown, 'drain')
      const run = shutdown.shutdown()
      await delay(50)
      expect(shutdown.state).toBe('draining')
      // Readiness: the pod is still in the endpoints, so a new connection must be served, not refused.
      const fresh = open()
      expect(await fetchStream(fresh.session, '/')).toBe('done 0')
      expect(await fetchStream(fresh.session, '/?ms=20')).toBe('done 20')
      expect(await fetchStream(existing.session, '/')).toBe('done 0')
      expect(fresh.seen.goaway).toBe(false)
      expect(existing.seen.goaway).toBe(false)
      // A stream still in flight when the drain starts keeps the drain going for a while.
      const inFlight = fetchStream(fresh.session, '/?ms=400')
      await draining
      await delay(30)
      expect(fresh.seen.goaway).toBe(true)
      expect(existing.seen.goaway).toBe(true)
      const late = open()
      await expect(fetchStream(late.session, '/')).rejects.toBeInstanceOf(Error)
      expect(await inFlight).toBe('done 400')
      const report = await run
      expect(report.exitCode).toBe(0)
      expect(drain.stats).toMatchObject({ connectionsAtStart: 2, forced: 0 })
      for (const { session } of [existing, fresh, late]) session.destroy()
    }, 10_000)
  })
}

describe('HTTP/2 (TLS): a session set up after the drain started', () => {
  it('is sent GOAWAY at once, on a connection accepted before the drain', async () => {
    const shutdown = testShutdown({ drainDelayMs: 100 })
    const server = createSecureServer(tls, handler)
    servers.push(server)
    const drain = drainHttpServer(shutdown, server)
    const port = await listen(server)
    const busy = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
    busy.on('error', () => {})
    expect(await fetchStream(busy, '/')).toBe('done 0')
    const draining = phaseStarted(shutdown, 'drain')
    const run = shutdown.shutdown()
    // Accepted during readiness; the TLS handshake — hence the HTTP/2 session — only once the drain started.
    const tcp = connectTcp(port, '127.0.0.1')
    await new Promise((resolve) => tcp.once('connect', resolve))
    // Keeps the drain going while the late session is set up.
    const inFlight = fetchStream(busy, '/?ms=500').catch((error: Error) => error)
    await draining
    await delay(30)
    const late = connect(`https://127.0.0.1:${port}`, {
      createConnection: () => connectTls({ socket: tcp, ALPNProtocols: ['h2'], rejectUnauthorized: false }),
    })
    let goaway = false
    late.on('goaway', () => {
      goaway = true
    })
    late.on('error', () => {})
    const reply = await fetchStream(late, '/').catch((error: Error) => error)
    expect(reply).toBeInstanceOf(Error)
    expect(goaway).toBe(true)
    expect(await inFlight).toBe('done 500')
    expect((await run).exitCode).toBe(0)
    expect(drain.stats?.forced).toBe(0)
    busy.destroy()
    late.destroy()
  }, 10_000)
})
