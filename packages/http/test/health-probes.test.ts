import { createServer, type Server } from 'node:http'
import { DEFAULTS, type Shutdown, type ShutdownOptions } from '@lameduck/core'
import { createProbes, HTTP_DEFAULTS, listenAdmin, type ProbeOptions } from '@lameduck/http'
import { afterEach, describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'
import { get, listen } from './helpers.js'

// shutdown.health and shutdown.startup as the probes answer them, over real HTTP on loopback.
const TOKEN = 'health-t0k3n-for-tests-only'
const auth = { authorization: `Bearer ${TOKEN}` }
const servers: Server[] = []
const coordinators: Shutdown[] = []
const admins: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
  for (const admin of admins.splice(0)) await admin.close()
  for (const shutdown of coordinators.splice(0)) await shutdown.close()
})

async function serve(options: ShutdownOptions = {}, probeOptions: ProbeOptions = { token: TOKEN }) {
  const shutdown = testShutdown(options)
  coordinators.push(shutdown)
  const probes = createProbes(shutdown, probeOptions)
  const server = createServer((req, res) => {
    if (!probes(req, res)) res.end('app')
  })
  servers.push(server)
  const port = await listen(server)
  return { shutdown, port }
}

const json = (body: string) => JSON.parse(body) as Record<string, unknown>

describe('health checks in /readyz and /healthz', () => {
  it('the readiness and liveness options cannot hang a probe either: no answer within DEFAULTS.health.timeoutMs is 503', async () => {
    const never = () => new Promise<boolean>(() => {})
    const { port } = await serve({}, { token: TOKEN, readiness: never, liveness: never })
    const t0 = performance.now()
    const [ready, live] = await Promise.all([get('http', port, '/readyz'), get('http', port, '/healthz')])
    expect(performance.now() - t0).toBeLessThan(DEFAULTS.health.timeoutMs + 3_000)
    expect(ready.status).toBe(503)
    expect(json(ready.body)).toEqual({ status: 'not-ready', state: 'running' })
    expect(live.status).toBe(503)
    expect(json(live.body)).toEqual({ status: 'failing' })
  })

  it('a hanging check: the probe answers 503 within its timeoutMs, and concurrent probes run it once', async () => {
    const { shutdown, port } = await serve()
    let calls = 0
    let aborts = 0
    shutdown.health.check(
      'db',
      (signal) => {
        calls++
        signal.addEventListener('abort', () => aborts++)
        return new Promise<boolean>(() => {})
      },
      { timeoutMs: 200, cacheMs: 0 },
    )
    const t0 = performance.now()
    const replies = await Promise.all(Array.from({ length: 8 }, () => get('http', port, '/readyz')))
    const took = performance.now() - t0
    expect(took).toBeGreaterThanOrEqual(150)
    expect(took).toBeLessThan(2_000)
    for (const reply of replies) {
      expect(reply.status).toBe(503)
      expect(json(reply.body)).toEqual({ status: 'not-ready', state: 'running' })
    }
    expect(calls).toBe(1)
    expect(aborts).toBe(1)
    // Liveness is not affected by a readiness check.
    expect((await get('http', port, '/healthz')).status).toBe(200)
  })

  it('honours cacheMs: a result is reused, then taken again', async () => {
    const { shutdown, port } = await serve()
    let calls = 0
    shutdown.health.check('cache', () => ++calls > 0, { cacheMs: 300 })
    for (let i = 0; i < 5; i++) expect((await get('http', port, '/readyz')).status).toBe(200)
    expect(calls).toBe(1)
    await delay(400)
    await get('http', port, '/readyz')
    expect(calls).toBe(2)
  })

  it('degraded keeps the probe 200 and says so; a failing liveness check fails /healthz', async () => {
    const { shutdown, port } = await serve()
    shutdown.health.check('search', () => ({ status: 'degraded', details: { lagMs: 1200 } }), {
      affects: ['readiness', 'liveness'],
    })
    const ready = await get('http', port, '/readyz')
    expect(ready.status).toBe(200)
    expect(json(ready.body)).toEqual({ status: 'degraded', state: 'running' })
    const live = await get('http', port, '/healthz')
    expect(live.status).toBe(200)
    expect(json(live.body)).toEqual({ status: 'degraded' })
    const wedged = shutdown.health.check('event-loop', () => false, { affects: ['liveness'] })
    const failing = await get('http', port, '/healthz')
    expect(failing.status).toBe(503)
    expect(json(failing.body)).toEqual({ status: 'failing' })
    expect((await get('http', port, '/readyz')).status).toBe(200)
    wedged.remove()
    expect((await get('http', port, '/healthz')).status).toBe(200)
  })

  it('details only with the token: the public answer is the status alone, ?verbose without the token is 401', async () => {
    const { shutdown, port } = await serve()
    shutdown.health.check('db', () => {
      throw new Error('connect ECONNREFUSED 10.0.0.7:5432')
    })
    const plain = await get('http', port, '/readyz')
    expect(plain.status).toBe(503)
    expect(plain.body).not.toContain('ECONNREFUSED')
    expect(plain.body).not.toContain('db')
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-wrong-token' }]
    for (const headers of attempts) {
      const denied = await get('http', port, '/readyz?verbose', { headers })
      expect(denied.status).toBe(401)
      expect(denied.body).not.toContain('ECONNREFUSED')
    }
    const detailed = await get('http', port, '/readyz?verbose', { headers: auth })
    expect(detailed.status).toBe(503)
    const body = json(detailed.body) as { checks: Record<string, { status: string; error: string }> }
    expect(body.checks.db).toMatchObject({ status: 'failing', error: 'connect ECONNREFUSED 10.0.0.7:5432' })
    expect(body).toMatchObject({ status: 'not-ready', startup: { state: 'done', tasks: [] } })
    const live = await get('http', port, '/healthz?verbose=1', { headers: auth })
    expect(json(live.body)).toEqual({ status: 'ok', checks: {} })
  })

  it('HEAD answers the status of GET with no body; no public answer names a check, a task or an error', async () => {
    const { shutdown, port } = await serve()
    shutdown.health.check('secret-db', () => Promise.reject(new Error('password authentication failed for "svc"')), {
      affects: ['readiness', 'liveness'],
    })
    let finish!: () => void
    shutdown.startup.task('secret-migration', () => new Promise<void>((r) => (finish = r)))
    const paths = ['/readyz', '/healthz', '/startupz']
    const answers = async () => {
      const out: Record<string, [number, number]> = {}
      for (const path of paths) {
        const got = await get('http', port, path)
        const head = await get('http', port, path, { method: 'HEAD' })
        expect(head.body, `HEAD ${path}`).toBe('')
        expect(head.status, `HEAD ${path}`).toBe(got.status)
        for (const secret of ['secret', 'password', 'svc']) expect(got.body, `GET ${path}`).not.toContain(secret)
        out[path] = [got.status, head.status]
      }
      return out
    }
    expect(await answers()).toEqual({ '/readyz': [503, 503], '/healthz': [503, 503], '/startupz': [503, 503] })
    finish()
    await shutdown.startup.done()
    expect(await answers()).toEqual({ '/readyz': [503, 503], '/healthz': [503, 503], '/startupz': [200, 200] })
    const denied = await get('http', port, '/healthz?verbose', { method: 'HEAD' })
    expect([denied.status, denied.body]).toEqual([401, ''])
  })

  it('with no token configured (insecure), details are never served on the public port', async () => {
    const { shutdown, port } = await serve({}, { insecure: true, env: {} })
    shutdown.health.check('db', () => false)
    expect((await get('http', port, '/readyz?verbose', { headers: auth })).status).toBe(401)
  })

  it('the admin server serves the details without a token', async () => {
    const shutdown = testShutdown()
    coordinators.push(shutdown)
    shutdown.health.check('queue', () => ({ status: 'degraded', details: { depth: 42 } }))
    const admin = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', paths: { shutdown: false } })
    admins.push(admin)
    const plain = await get('http', admin.port, '/readyz')
    expect(json(plain.body)).toEqual({ status: 'degraded', state: 'running' })
    const detailed = await get('http', admin.port, '/readyz?verbose')
    expect(detailed.status).toBe(200)
    expect((json(detailed.body) as { checks: Record<string, unknown> }).checks.queue).toMatchObject({
      status: 'degraded',
      details: { depth: 42 },
    })
  })

  it('once shutting down, /readyz is 503 without asking the checks, /healthz 200 without them', async () => {
    let release!: () => void
    const { shutdown, port } = await serve()
    let calls = 0
    shutdown.health.check('dep', () => ++calls < 0, { affects: ['readiness', 'liveness'], cacheMs: 0 })
    shutdown.addTask({ name: 'hold', phase: 'drain', run: () => new Promise<void>((r) => (release = r)) })
    const run = shutdown.shutdown('test')
    expect(json((await get('http', port, '/readyz')).body)).toEqual({ status: 'draining' })
    expect((await get('http', port, '/healthz')).status).toBe(200)
    expect(calls).toBe(0)
    release()
    await run
  })
})

describe('start-up in /startupz and /readyz', () => {
  it('both answer 503 until every start-up task has finished, then 200', async () => {
    const { shutdown, port } = await serve()
    let finish!: () => void
    shutdown.startup.task('migrate', () => new Promise<void>((r) => (finish = r)))
    shutdown.startup.task('warm', () => delay(20))
    await delay(50)
    const startupz = await get('http', port, HTTP_DEFAULTS.probes.paths.startup)
    expect(startupz.status).toBe(503)
    expect(json(startupz.body)).toEqual({ status: 'starting' })
    const readyz = await get('http', port, '/readyz')
    expect(readyz.status).toBe(503)
    expect(json(readyz.body)).toEqual({ status: 'starting' })
    const verbose = json((await get('http', port, '/startupz?verbose', { headers: auth })).body) as {
      startup: { tasks: { name: string; outcome: string }[] }
    }
    expect(verbose.startup.tasks.map((t) => [t.name, t.outcome])).toEqual([
      ['migrate', 'running'],
      ['warm', 'ok'],
    ])
    finish()
    await shutdown.startup.done()
    expect(json((await get('http', port, '/startupz')).body)).toEqual({ status: 'started' })
    expect((await get('http', port, '/readyz')).status).toBe(200)
  })

  it('a start-up task past its timeoutMs keeps both at 503 for good', async () => {
    const { shutdown, port } = await serve()
    shutdown.startup.task('connect', () => new Promise(() => {}), { timeoutMs: 100 })
    await shutdown.startup.done()
    const startupz = await get('http', port, '/startupz')
    expect(startupz.status).toBe(503)
    expect(json(startupz.body)).toEqual({ status: 'failed' })
    expect(json((await get('http', port, '/readyz')).body)).toEqual({ status: 'startup-failed' })
    const verbose = json((await get('http', port, '/startupz?verbose', { headers: auth })).body) as {
      startup: { tasks: { code: string }[] }
    }
    expect(verbose.startup.tasks[0]?.code).toBe('LAMEDUCK_ERR_STARTUP_TIMEOUT')
  })

  it('paths.startup is configurable and checked for clashes', async () => {
    const { shutdown, port } = await serve({}, { token: TOKEN, paths: { startup: '/started' } })
    shutdown.startup.task('t', () => new Promise(() => {}))
    expect((await get('http', port, '/started')).status).toBe(503)
    expect((await get('http', port, '/startupz')).body).toBe('app')
    const other = testShutdown()
    coordinators.push(other)
    expect(() => createProbes(other, { token: TOKEN, paths: { startup: '/readyz' } })).toThrow(
      /each route needs a path of its own/,
    )
    expect(() => createProbes(other, { token: TOKEN, paths: { startup: 'startupz' } })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    expect(() => createProbes(other, { token: TOKEN, paths: { started: '/x' } as never })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION' }),
    )
  })
})
