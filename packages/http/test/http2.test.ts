import { connect, createSecureServer, createServer, type Http2Server } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { createShutdown } from '@lameduck/core'
import { drainHttpServer } from '@lameduck/http'
import { afterEach, describe, expect, it } from 'vitest'
import { delay, tls } from './helpers.js'

const servers: { close(): void }[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

function handler(req: { url?: string }, res: { end(body: string): void }) {
  const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0)
  setTimeout(() => res.end(`done ${ms}`), ms)
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
      const shutdown = createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
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
      const shutdown = createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
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
      expect(report.phases.find((p) => p.name === 'drain')?.tasks[0]?.code).toBe('LAMEDUCK_ERR_DRAIN_FORCED')
    })
  })
}
