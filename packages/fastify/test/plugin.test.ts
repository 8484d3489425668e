import type { AddressInfo } from 'node:net'
import type { Shutdown, ShutdownOptions } from '@lameduck/core'
import { lameduck } from '@lameduck/fastify'
import Fastify5, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import Fastify4 from 'fastify4'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { keepAliveClients } from '../../../test/support/servers.js'
import { delay, taskNames, taskReport, testShutdown } from '../../../test/support/shutdown.js'

const TOKEN = 'fastify-token-0123456789'
// Every test runs on Fastify 5 (the peer dependency) and on Fastify 4 (its last major, out of support since
// June 2025, still widely run): the plugin declares '4.x || 5.x'. Fastify 4's types differ in details the
// plugin does not use; at run time both instances are driven the same way.
const VERSIONS = [
  ['5', Fastify5],
  ['4', Fastify4 as unknown as typeof Fastify5],
] as const
let Fastify: typeof Fastify5 = Fastify5
const apps: FastifyInstance[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) {
    app.server.closeAllConnections()
    await app.close().catch(() => {})
  }
})

async function start(
  options: ShutdownOptions = {},
  configure?: (app: FastifyInstance, shutdown: Shutdown) => void,
  fastifyOptions: FastifyServerOptions = {},
) {
  const shutdown = testShutdown(options)
  const app = Fastify(fastifyOptions)
  apps.push(app)
  app.server.keepAliveTimeout = 65_000
  app.server.headersTimeout = 66_000
  await app.register(lameduck, { shutdown, token: TOKEN })
  app.get('/', async () => 'hello')
  app.get('/slow', async (request) => {
    await delay(Number((request.query as { ms?: string }).ms ?? 300))
    return 'slow'
  })
  configure?.(app, shutdown)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { shutdown, app, url }
}

describe.each(VERSIONS)('the lameduck Fastify plugin on Fastify %s', (major, factory) => {
  beforeAll(() => {
    Fastify = factory
  })
  it('is that major', async () => {
    const app = Fastify()
    apps.push(app)
    expect(app.version.split('.')[0]).toBe(major)
  })

  it('serves /healthz and /readyz as routes, and the application beside them', async () => {
    const { url } = await start()
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready' })
    expect(await (await fetch(`${url}/`)).text()).toBe('hello')
    expect((await fetch(`${url}/healthz`, { method: 'HEAD' })).status).toBe(200)
    const wrong = await fetch(`${url}/readyz`, { method: 'POST' })
    expect(wrong.status).toBe(405)
    expect((await fetch(`${url}/nothing`)).status).toBe(404)
  })

  it('serves /startupz, and /readyz waits for start-up and its health checks; ?verbose needs the token', async () => {
    let finish!: () => void
    const { shutdown, url } = await start({}, (_app, coordinator) => {
      coordinator.startup.task('warm', () => new Promise<void>((resolve) => (finish = resolve)))
      coordinator.health.check('dep', () => ({ status: 'degraded', details: { lagMs: 7 } }))
    })
    expect((await fetch(`${url}/startupz`)).status).toBe(503)
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'starting' })
    finish()
    await shutdown.startup.done()
    expect(await (await fetch(`${url}/startupz`)).json()).toEqual({ status: 'started' })
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'degraded', state: 'running' })
    expect((await fetch(`${url}/readyz?verbose`)).status).toBe(401)
    const verbose = await fetch(`${url}/readyz?verbose`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(((await verbose.json()) as { checks: Record<string, unknown> }).checks.dep).toMatchObject({
      details: { lagMs: 7 },
    })
  })

  it('/shutdown: 401 without the token, 200 with the report with it; onClose hooks run in the close phase, after the drain', async () => {
    const order: string[] = []
    const { shutdown, url } = await start({}, (app, coordinator) => {
      coordinator.on('phaseStart', ({ phase }) => order.push(`phase:${phase}`))
      app.addHook('onClose', async () => {
        order.push('onClose')
      })
    })
    const refused = await fetch(`${url}/shutdown`, { method: 'POST' })
    expect(refused.status).toBe(401)
    // Answered before Fastify parses the body: a content type it has no parser for is no 415.
    const xml = { 'content-type': 'text/xml' }
    expect((await fetch(`${url}/shutdown`, { method: 'POST', headers: xml, body: '<a/>' })).status).toBe(401)
    expect(shutdown.state).toBe('running')
    const reply = await fetch(`${url}/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(reply.status).toBe(200)
    const report = (await reply.json()) as Parameters<typeof taskNames>[0] & { exitCode: number }
    expect(report.exitCode).toBe(0)
    expect(taskNames(report)).toEqual(expect.arrayContaining(['http-drain', 'fastify-close']))
    expect(taskReport(report, 'fastify-close')).toMatchObject({ outcome: 'ok' })
    expect(order.indexOf('onClose')).toBeGreaterThan(order.indexOf('phase:drain'))
    expect(order.indexOf('onClose')).toBeGreaterThan(order.indexOf('phase:close'))
    expect(order.filter((entry) => entry === 'onClose')).toHaveLength(1)
  })

  it('keep-alive clients through a shutdown: zero errors, in-flight requests finish', async () => {
    const { shutdown, url } = await start({ drainDelayMs: 300 })
    const { ok, errors, slow, report } = await keepAliveClients(url, shutdown)
    expect(slow).toBe(200)
    expect(errors).toEqual([])
    expect(ok).toBeGreaterThan(0)
    expect(report.exitCode).toBe(0)
    expect(taskReport(report, 'http-drain')).toMatchObject({ outcome: 'ok' })
    expect(taskReport(report, 'fastify-close')).toMatchObject({ outcome: 'ok' })
  })

  it('forceCloseConnections: true does not cut the /shutdown report, and the close does not wait for it', async () => {
    const { url } = await start({}, undefined, { forceCloseConnections: true })
    const started = performance.now()
    const reply = await fetch(`${url}/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(reply.status).toBe(200)
    const report = (await reply.json()) as Parameters<typeof taskReport>[0] & { exitCode: number }
    expect(taskReport(report, 'fastify-close')).toMatchObject({ outcome: 'ok' })
    expect(report.exitCode).toBe(0)
    expect(performance.now() - started).toBeLessThan(3_000)
  })

  it('app.close() by the application takes the registrations off the coordinator', async () => {
    const { shutdown, app } = await start()
    expect(app.lameduck.drain.name).toBe('http-drain')
    expect(app.lameduck.close.name).toBe('fastify-close')
    await app.close()
    const report = await shutdown.shutdown()
    expect(taskNames(report)).not.toContain('fastify-close')
    expect(taskNames(report)).not.toContain('http-drain')
  })

  it('close options: its own name, phase and budget', async () => {
    const shutdown = testShutdown()
    const app = Fastify()
    apps.push(app)
    await app.register(lameduck, {
      shutdown,
      insecure: true,
      paths: { shutdown: false },
      close: { name: 'api-close', timeoutMs: 200, critical: false },
    })
    app.addHook('onClose', async () => {
      await delay(2_000)
    })
    await app.ready()
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'api-close')).toMatchObject({ outcome: 'timeout' })
    expect(report.exitCode).toBe(0)
  })
})
