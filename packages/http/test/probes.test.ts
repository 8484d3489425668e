import { createServer, type Server } from 'node:http'
import { createSecureServer as createH2SecureServer, createServer as createH2Server } from 'node:http2'
import { type AddressInfo, connect } from 'node:net'
import type { Shutdown, ShutdownOptions } from '@lameduck/core'
import {
  createProbes,
  drainHttpServer,
  HTTP_DEFAULTS,
  type ProbeOptions,
  type Request,
  type Response,
  ShutdownTokenRequiredError,
} from '@lameduck/http'
import { afterEach, describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'
import { closed, get, getH2, listen, makeAgent, makeServer, openH2, tls } from './helpers.js'

const TOKEN = 's3cr3t-t0k3n-for-tests-only'
const auth = { authorization: `Bearer ${TOKEN}` }
const servers: Server[] = []
const others: { close(): void }[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
  for (const server of others.splice(0)) server.close()
})

async function serve(options: ShutdownOptions = {}, probeOptions: ProbeOptions = { token: TOKEN }) {
  const exits: number[] = []
  const shutdown = testShutdown({
    exit: (code) => exits.push(code),
    ...options,
  })
  const probes = createProbes(shutdown, probeOptions)
  const server = createServer((req, res) => {
    if (!probes(req, res)) res.end('app')
  })
  servers.push(server)
  const port = await listen(server)
  return { shutdown, server, port, exits }
}

describe('liveness and readiness through every phase', () => {
  it('/healthz stays 200 and /readyz turns 503 at the first trigger', async () => {
    let release!: () => void
    const { shutdown, port } = await serve({ drainDelayMs: 150 })
    shutdown.addTask({ name: 'slow-flush', phase: 'flush', run: () => new Promise<void>((r) => (release = r)) })
    expect((await get('http', port, '/healthz')).status).toBe(200)
    const ready = await get('http', port, '/readyz')
    expect(ready.status).toBe(200)
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', state: 'running' })
    const run = shutdown.shutdown()
    for (const expected of ['draining', 'stopping'] as const) {
      while (shutdown.state !== expected) await delay(5)
      expect((await get('http', port, '/healthz')).status).toBe(200)
      const r = await get('http', port, '/readyz')
      expect(r.status).toBe(503)
      expect(JSON.parse(r.body)).toEqual({ status: expected })
    }
    release()
    await run
    expect((await get('http', port, '/healthz')).status).toBe(200)
    expect((await get('http', port, '/readyz')).status).toBe(503)
    expect((await get('http', port, '/readyz', { method: 'HEAD' })).body).toBe('')
  })

  it('custom checks can fail the probes; a throwing check counts as failing', async () => {
    let alive = true
    const { port } = await serve(
      {},
      {
        token: TOKEN,
        liveness: () => alive,
        readiness: () => {
          throw new Error('db down')
        },
      },
    )
    expect((await get('http', port, '/readyz')).status).toBe(503)
    expect((await get('http', port, '/healthz')).status).toBe(200)
    alive = false
    expect((await get('http', port, '/healthz')).status).toBe(503)
  })

  it('other paths fall through to the application', async () => {
    const { port } = await serve()
    expect((await get('http', port, '/orders')).body).toBe('app')
    expect((await get('http', port, '/healthz/extra')).body).toBe('app')
  })
})

describe('/shutdown', () => {
  it('refuses to be created without a token unless insecure', () => {
    const shutdown = testShutdown()
    expect(() => createProbes(shutdown, { env: {} })).toThrow(ShutdownTokenRequiredError)
    try {
      createProbes(shutdown, { env: {} })
    } catch (error) {
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED' })
    }
    expect(() => createProbes(shutdown, { env: {}, insecure: true })).not.toThrow()
    expect(() => createProbes(shutdown, { env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN } })).not.toThrow()
    expect(() => createProbes(shutdown, { env: {}, paths: { shutdown: false } })).not.toThrow()
    expect(() => createProbes(shutdown, { token: 'has space' })).toThrow(/visible ASCII/)
    expect(() => createProbes(shutdown, { token: TOKEN, paths: { readiness: 'ready' } })).toThrow(/paths.readiness/)
  })

  it('answers 401 for a missing, wrong or malformed token, and triggers nothing', async () => {
    const { shutdown, port } = await serve()
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-of-some-length' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: `Bearer  ${TOKEN}` },
      { authorization: `bearer${TOKEN}` },
      { authorization: `Bearer ${TOKEN} extra` },
      { authorization: 'Bearer '.padEnd(8000, 'x') },
    ]
    for (const headers of attempts) {
      const reply = await get('http', port, '/shutdown', { headers })
      expect(reply.status).toBe(401)
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="lameduck"')
      expect(JSON.parse(reply.body)).toEqual({ error: 'unauthorized' })
    }
    expect(shutdown.state).toBe('running')
    expect(shutdown.isReady()).toBe(true)
  })

  it('rejects an oversized header before any handler runs, and other methods with 405', async () => {
    const { shutdown, port } = await serve()
    const huge = await get('http', port, '/shutdown', { headers: { ...auth, 'x-pad': 'x'.repeat(20_000) } })
    expect(huge.status).toBe(431)
    for (const method of ['PUT', 'DELETE', 'HEAD', 'PATCH']) {
      const reply = await get('http', port, '/shutdown', { method, headers: auth })
      expect(reply.status).toBe(405)
      expect(reply.headers.allow).toBe('GET, POST')
    }
    // A request line no HTTP parser accepts.
    const raw = connect(port, '127.0.0.1')
    raw.write('GET /shutdown HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\x00x\r\n\r\n')
    const answer = await new Promise<string>((resolve) => raw.once('data', (d) => resolve(String(d))))
    expect(answer).toMatch(/^HTTP\/1.1 400/)
    expect(shutdown.state).toBe('running')
  })

  it('GET and POST trigger one run; concurrent callers get the same report; 200 with the report', async () => {
    const { shutdown, port, exits } = await serve()
    shutdown.addTask({ name: 'flush', phase: 'flush', run: () => delay(100) })
    const replies = await Promise.all([
      get('http', port, '/shutdown', { headers: auth }),
      get('http', port, '/shutdown', { method: 'POST', headers: auth }),
      get('http', port, '/shutdown?x=1', { headers: auth }),
    ])
    for (const reply of replies) {
      expect(reply.status).toBe(200)
      expect(reply.headers.connection).toBe('close')
      expect(reply.body).toBe(replies[0]!.body)
    }
    const report = JSON.parse(replies[0]!.body)
    expect(report).toMatchObject({ trigger: 'http', reason: 'GET /shutdown', exitCode: 0 })
    expect(report.triggers).toHaveLength(3)
    await delay(20)
    expect(exits).toEqual([0])
    // Afterwards still the same report.
    expect((await get('http', port, '/shutdown', { headers: auth })).body).toBe(replies[0]!.body)
  })

  it('answers 500 when a critical task failed', async () => {
    const { shutdown, port } = await serve()
    shutdown.addTask({ name: 'broken', run: () => Promise.reject(new Error('nope')) })
    const reply = await get('http', port, '/shutdown', { headers: auth })
    expect(reply.status).toBe(500)
    expect(JSON.parse(reply.body).phases.find((p: { name: string }) => p.name === 'close').tasks[0]).toMatchObject({
      name: 'broken',
      outcome: 'error',
      error: 'nope',
    })
  })

  for (const kind of ['http', 'https', 'h2c', 'h2'] as const) {
    it(`over ${kind}: holds the exit until the response is flushed, and the drain never closes its connection`, async () => {
      const exits: number[] = []
      const shutdown: Shutdown = testShutdown({
        exit: (c) => exits.push(c),
      })
      const probes = createProbes(shutdown, { token: TOKEN })
      const handler = (req: Request, res: Response) => {
        if (!probes(req, res)) res.end('app')
      }
      const h2 = kind === 'h2c' || kind === 'h2'
      const server = h2
        ? kind === 'h2'
          ? createH2SecureServer(tls, handler)
          : createH2Server(handler)
        : makeServer(kind, handler as never)
      if (h2) others.push(server)
      else servers.push(server as Server)
      const drain = drainHttpServer(shutdown, server, { timeoutMs: 200, checkTimeouts: false })
      // The report is produced after the drain deadline: the /shutdown connection must survive it.
      shutdown.addTask({ name: 'after-drain', phase: 'close', run: () => delay(300) })
      const port = await new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
      )
      let reply: { status: number; body: string }
      if (h2) {
        // Another client's connection, which the drain does close; the /shutdown one on its own session.
        const other = openH2(kind === 'h2', port)
        expect((await getH2(other, '/app')).body).toBe('app')
        const otherClosed = new Promise((resolve) => other.once('close', resolve))
        const session = openH2(kind === 'h2', port)
        reply = await getH2(session, '/shutdown', auth)
        await otherClosed
        session.close()
      } else {
        const agent = makeAgent(kind)
        const other = await get(kind, port, '/app', { agent })
        reply = await get(kind, port, '/shutdown', { headers: auth })
        await closed(other.socket)
        agent.destroy()
      }
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.body)).toMatchObject({ exitCode: 0, trigger: 'http' })
      expect(drain.stats).toMatchObject({ forced: 0, connectionsAtStart: 1 })
      await delay(30)
      expect(exits).toEqual([0])
    }, 10_000)
  }

  it('warns about a short token', async () => {
    const shutdown = testShutdown()
    const codes: string[] = []
    shutdown.on('warning', (w) => codes.push(w.code))
    createProbes(shutdown, { token: 'short' })
    expect(codes).toEqual(['LAMEDUCK_WARN_SHORT_TOKEN'])
  })
})

describe('the kubelet getting 401 from /shutdown: LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED', () => {
  const kubelet = { 'user-agent': 'kube-lifecycle/1.31' }

  it('no Authorization header: the missing httpHeaders, or an https hook on a plain-HTTP port', async () => {
    const { shutdown, port } = await serve()
    const warnings: { code: string; message: string; details?: Record<string, unknown> }[] = []
    shutdown.on('warning', (w) => warnings.push(w))
    expect((await get('http', port, '/shutdown', { headers: kubelet })).status).toBe(401)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({
      code: 'LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED',
      details: { userAgent: 'kube-lifecycle/1.31', authorization: 'missing' },
    })
    const message = warnings[0]?.message ?? ''
    expect(message).toContain("the kubelet's preStop hook got 401 from /shutdown: nothing runs until SIGTERM")
    expect(message).toContain('the hook has no Authorization header in its httpHeaders')
    expect(message).toContain('scheme: HTTPS for this plain-HTTP port — the kubelet then retries over HTTP WITHOUT')
    expect(message).toContain('lameduck-prestop')
    expect(shutdown.state).toBe('running')
  })

  it('a wrong token: a stale literal copy in the pod spec; never the token itself', async () => {
    const { shutdown, port } = await serve()
    const warnings: { message: string; details?: Record<string, unknown> }[] = []
    shutdown.on('warning', (w) => warnings.push(w))
    const headers = { ...kubelet, authorization: 'Bearer an-old-token-0123456789' }
    expect((await get('http', port, '/shutdown', { headers })).status).toBe(401)
    expect(warnings[0]?.details).toMatchObject({ authorization: 'wrong' })
    expect(warnings[0]?.message).toMatch(/another token than the service's .* stale since the Secret changed/)
    expect(JSON.stringify(warnings)).not.toContain('an-old-token')
    expect(JSON.stringify(warnings)).not.toContain(TOKEN)
  })

  it('once per handler; not for other callers; not when the kubelet is authorized', async () => {
    const { shutdown, port } = await serve()
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.code))
    expect((await get('http', port, '/shutdown', { headers: { 'user-agent': 'curl/8.5.0' } })).status).toBe(401)
    expect((await get('http', port, '/shutdown')).status).toBe(401)
    expect(warnings).toEqual([])
    await get('http', port, '/shutdown', { headers: kubelet })
    await get('http', port, '/shutdown', { headers: kubelet })
    expect(warnings).toEqual(['LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED'])
    expect((await get('http', port, '/shutdown', { headers: { ...kubelet, ...auth } })).status).toBe(200)
    expect(warnings).toEqual(['LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED'])
  })
})

describe('the exit waits for the /shutdown caller to close its connection', () => {
  /** POSTs /shutdown on a raw socket; resolves once the whole response is read, with the socket still open. */
  function rawShutdown(port: number) {
    const socket = connect(port, '127.0.0.1')
    socket.write(`POST /shutdown HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0\r\n\r\n`)
    socket.setEncoding('utf8')
    // Half-open: the server's FIN does not close this end; only socket.end() or destroy() does.
    socket.allowHalfOpen = true
    let data = ''
    const read = new Promise<string>((resolve) => {
      socket.on('data', (chunk: string) => {
        data += chunk
        if (/\r\n\r\n[\s\S]*"exitCode":\d+[\s\S]*}$/.test(data)) resolve(data)
      })
    })
    return { socket, read }
  }

  it('exits only once the caller has read the report and closed (an exec hook in the container)', async () => {
    const exitsAt: number[] = []
    const { port } = await serve({ exit: () => exitsAt.push(performance.now()) })
    const { socket, read } = rawShutdown(port)
    expect(await read).toMatch(/^HTTP\/1\.1 200/)
    await delay(300)
    expect(exitsAt).toEqual([]) // still held: the caller has not closed
    const closedAt = performance.now()
    socket.destroy()
    while (exitsAt.length === 0) await delay(5)
    expect(exitsAt[0]).toBeGreaterThanOrEqual(closedAt)
    expect(exitsAt[0]! - closedAt).toBeLessThan(500)
  })

  it(`a caller that never closes holds the exit ${HTTP_DEFAULTS.probes.shutdownLingerMs} ms at most`, async () => {
    const exitsAt: number[] = []
    const { port } = await serve({ exit: () => exitsAt.push(performance.now()) })
    const { socket, read } = rawShutdown(port)
    await read
    const readAt = performance.now()
    while (exitsAt.length === 0) await delay(10)
    const heldMs = exitsAt[0]! - readAt
    expect(heldMs).toBeGreaterThanOrEqual(HTTP_DEFAULTS.probes.shutdownLingerMs - 100)
    expect(heldMs).toBeLessThan(HTTP_DEFAULTS.probes.shutdownLingerMs + 1500)
    socket.destroy()
  })

  it("the kubelet's own httpGet (outside the container) gets Connection: close, and the exit does not wait", async () => {
    const exitsAt: number[] = []
    const { port } = await serve({ exit: () => exitsAt.push(performance.now()) })
    const socket = connect(port, '127.0.0.1')
    socket.allowHalfOpen = true
    socket.setEncoding('utf8')
    socket.write(
      `GET /shutdown HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-lifecycle/1.31\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    )
    let data = ''
    socket.on('data', (chunk: string) => {
      data += chunk
    })
    while (exitsAt.length === 0) await delay(5)
    expect(data).toMatch(/^HTTP\/1\.1 200/)
    expect(data.toLowerCase()).toContain('connection: close')
    socket.destroy()
  })
})
