import type { Shutdown, ShutdownReport } from '@lameduck/core'
import { InjectShutdown, LameduckModule, SHUTDOWN } from '@lameduck/nestjs'
import { type CanActivate, Inject, Injectable, Module } from '@nestjs/common'
import { APP_GUARD } from '@nestjs/core'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { Test } from '@nestjs/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { keepAliveClients } from '../../../test/support/servers.js'
import { delay, taskNames, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { closeApps, dbModule, type Journal, PLATFORMS, startApp, TOKEN, usersService } from './support.js'

afterEach(closeApps)

const bearer = { authorization: `Bearer ${TOKEN}` }

/** The root module's UsersService over DbModule's DbService, recording their hooks in `journal`. */
function usersOverDb(journal: Journal) {
  const { DbService, DbModule } = dbModule(journal)
  return { imports: [DbModule], providers: [usersService(journal, DbService)] }
}

/** Records which phase each hook ran in. */
function phases(shutdown: Shutdown, journal: Journal) {
  shutdown.on('phaseStart', ({ phase }) => journal.push(`phase:${phase}`))
}

describe.each(PLATFORMS)('LameduckModule on %s', (platform) => {
  it('serves /healthz and /readyz in front of the application: no global prefix, no guard, no 404 handler', async () => {
    // A guard that refuses everything, on every route: the probes never reach Nest.
    class DenyAll implements CanActivate {
      canActivate() {
        return false
      }
    }
    Injectable()(DenyAll)
    const { url } = await startApp(platform, {
      lameduck: { shutdown: testShutdown(), token: TOKEN },
      providers: [{ provide: APP_GUARD, useClass: DenyAll }],
      before: (app) => app.setGlobalPrefix('api'),
    })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready' })
    expect((await fetch(`${url}/healthz`, { method: 'HEAD' })).status).toBe(200)
    expect((await fetch(`${url}/readyz`, { method: 'POST' })).status).toBe(405)
    // The application's own routes: under the prefix, behind the guard.
    expect((await fetch(`${url}/api/slow?ms=1`)).status).toBe(403)
    expect((await fetch(`${url}/api/healthz`)).status).toBe(404)
  })

  it('/shutdown: 401 without the token, the report with it; beforeApplicationShutdown in the drain phase, app.close() in the close phase, every hook with its dependency', async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    phases(shutdown, journal)
    const { url } = await startApp(platform, { lameduck: { shutdown, token: TOKEN }, ...usersOverDb(journal) })
    expect((await fetch(`${url}/shutdown`, { method: 'POST' })).status).toBe(401)
    // Before any body parser: a content type Nest or Fastify has no parser for is no 415.
    const xml = { 'content-type': 'text/xml' }
    expect((await fetch(`${url}/shutdown`, { method: 'POST', headers: xml, body: '<a/>' })).status).toBe(401)
    expect(shutdown.state).toBe('running')
    const reply = await fetch(`${url}/shutdown`, { method: 'POST', headers: bearer })
    expect(reply.status).toBe(200)
    const report = (await reply.json()) as ShutdownReport
    expect(report.exitCode).toBe(0)
    expect(taskNames(report)).toEqual(['nest-before-shutdown', 'http-drain', 'nest-close'])
    for (const name of taskNames(report)) expect(taskReport(report, name)).toMatchObject({ outcome: 'ok' })
    expect(journal).toEqual([
      'phase:readiness',
      'phase:drain',
      'Users.beforeApplicationShutdown(undefined) db open',
      'phase:flush',
      'phase:release',
      'phase:close',
      // Dependents first: the root module's provider still has its database.
      'Users.onModuleDestroy(undefined) db open',
      'Db.onModuleDestroy',
      'Users.onApplicationShutdown(undefined)',
      'Db.onApplicationShutdown(undefined)',
      'phase:report',
    ])
  })

  it('the signal that started the run is what the hooks get', async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    await startApp(platform, { lameduck: { shutdown, insecure: true }, ...usersOverDb(journal) })
    const report = await shutdown.shutdown('SIGTERM', { trigger: 'signal' })
    expect(report.exitCode).toBe(0)
    expect(journal).toContain('Users.beforeApplicationShutdown(SIGTERM) db open')
    expect(journal).toContain('Users.onApplicationShutdown(SIGTERM)')
  })

  it('keep-alive clients through a shutdown: zero errors, the in-flight request finishes', async () => {
    const shutdown = testShutdown({ drainDelayMs: 300 })
    const { url } = await startApp(platform, { lameduck: { shutdown, token: TOKEN } })
    const { ok, errors, slow, report } = await keepAliveClients(url, shutdown)
    expect(slow).toBe(200)
    expect(errors).toEqual([])
    expect(ok).toBeGreaterThan(0)
    expect(report.exitCode).toBe(0)
    expect(taskReport(report, 'http-drain')).toMatchObject({ outcome: 'ok' })
    expect(taskReport(report, 'nest-close')).toMatchObject({ outcome: 'ok' })
  })

  it('forceCloseConnections: true neither cuts the /shutdown report nor holds the close', async () => {
    const { url } = await startApp(platform, {
      lameduck: { shutdown: testShutdown(), token: TOKEN },
      platformOptions: { forceCloseConnections: true },
    })
    const started = performance.now()
    const reply = await fetch(`${url}/shutdown`, { method: 'POST', headers: bearer })
    expect(reply.status).toBe(200)
    const report = (await reply.json()) as ShutdownReport
    expect(taskReport(report, 'nest-close')).toMatchObject({ outcome: 'ok' })
    expect(report.exitCode).toBe(0)
    expect(performance.now() - started).toBeLessThan(3_000)
  })

  it('beforeShutdown: false leaves the hooks in app.close(), in Nest’s own order', async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    phases(shutdown, journal)
    await startApp(platform, { lameduck: { shutdown, insecure: true, beforeShutdown: false }, ...usersOverDb(journal) })
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual(['http-drain', 'nest-close'])
    expect(journal.slice(journal.indexOf('phase:close'))).toEqual([
      'phase:close',
      'Users.onModuleDestroy(undefined) db open',
      'Db.onModuleDestroy',
      // Nest's order: the database closed in onModuleDestroy is gone by beforeApplicationShutdown, whose
      // error ends app.close() there — onApplicationShutdown never runs.
      'Users.beforeApplicationShutdown(undefined) db closed',
      'phase:report',
    ])
    expect(taskReport(report, 'nest-close')).toMatchObject({ outcome: 'error' })
    expect(taskReport(report, 'nest-close').error).toMatch(/db closed: beforeApplicationShutdown/)
  })

  it('a Nest that cannot call beforeApplicationShutdown on its own: the hooks stay in app.close(), in its order', async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    phases(shutdown, journal)
    const { app } = await startApp(platform, {
      lameduck: { shutdown, insecure: true },
      ...usersOverDb(journal),
      attach: false,
      listen: false,
    })
    const attachment = LameduckModule.attach(hiding(app, 'callBeforeShutdownHook'))
    expect(attachment.beforeShutdown).toBeUndefined()
    await app.listen(0, '127.0.0.1')
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual(['http-drain', 'nest-close'])
    expect(journal.slice(journal.indexOf('phase:close'), -1)).toEqual([
      'phase:close',
      'Users.onModuleDestroy(undefined) db open',
      'Db.onModuleDestroy',
      'Users.beforeApplicationShutdown(undefined) db closed',
    ])
  })

  it('task options: names, phases and budgets of their own; a hook past its budget is a timeout', async () => {
    const shutdown = testShutdown()
    class Slow {
      async beforeApplicationShutdown() {
        await delay(2_000)
      }
    }
    Injectable()(Slow)
    await startApp(platform, {
      lameduck: {
        shutdown,
        insecure: true,
        beforeShutdown: { name: 'api-before', timeoutMs: 200, critical: false },
        close: { name: 'api-close', phase: 'release' },
      },
      providers: [Slow],
    })
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'api-before')).toMatchObject({ outcome: 'timeout' })
    expect(report.phases.find((phase) => phase.name === 'release')?.tasks.map((t) => t.name)).toEqual(['api-close'])
    expect(taskReport(report, 'api-close')).toMatchObject({ outcome: 'ok' })
    expect(report.exitCode).toBe(0)
  })

  it('a hook that throws: the close task reports the error, the exit code says so', async () => {
    const shutdown = testShutdown()
    class Broken {
      onApplicationShutdown() {
        throw new Error('pool would not close')
      }
    }
    Injectable()(Broken)
    await startApp(platform, { lameduck: { shutdown, insecure: true }, providers: [Broken] })
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'nest-close')).toMatchObject({ outcome: 'error', error: expect.stringMatching(/pool/) })
    expect(report.exitCode).toBe(1)
  })

  it('app.close() by the application: lameduck steps aside (its registrations off the coordinator)', async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    const { app, attachment } = await startApp(platform, {
      lameduck: { shutdown, insecure: true },
      imports: [dbModule(journal).DbModule],
    })
    expect(attachment?.drain.name).toBe('http-drain')
    expect(attachment?.beforeShutdown?.name).toBe('nest-before-shutdown')
    expect(attachment?.close.name).toBe('nest-close')
    await app.close()
    expect(journal).toEqual(['Db.onModuleDestroy', 'Db.onApplicationShutdown(undefined)'])
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual([])
  })

  it("app.close() once the shutdown has begun (the application's own SIGTERM handler): joins the run — the drain, the hooks once in lameduck's phases, resolved when the run is over", async () => {
    const journal: Journal = []
    const shutdown = testShutdown({ drainDelayMs: 300 })
    phases(shutdown, journal)
    const { app, url } = await startApp(platform, { lameduck: { shutdown, insecure: true }, ...usersOverDb(journal) })
    const slow = fetch(`${url}/slow?ms=600`).then((reply) => reply.status)
    await delay(50)
    const run = shutdown.shutdown('SIGTERM', { trigger: 'signal' })
    const closed = app.close().then(() => journal.push('app.close() resolved'))
    const report = await run
    await closed
    expect(await slow).toBe(200)
    expect(taskNames(report)).toEqual(['nest-before-shutdown', 'http-drain', 'nest-close'])
    for (const name of taskNames(report)) expect(taskReport(report, name)).toMatchObject({ outcome: 'ok' })
    expect(report.exitCode).toBe(0)
    expect(journal).toEqual([
      'phase:readiness',
      'phase:drain',
      'Users.beforeApplicationShutdown(SIGTERM) db open',
      'phase:flush',
      'phase:release',
      'phase:close',
      'Users.onModuleDestroy(undefined) db open',
      'Db.onModuleDestroy',
      'Users.onApplicationShutdown(SIGTERM)',
      'Db.onApplicationShutdown(SIGTERM)',
      'phase:report',
      'app.close() resolved',
    ])
    // And once the run is over, a further app.close() runs no hook again.
    await app.close()
    expect(journal.at(-1)).toBe('app.close() resolved')
  })

  it("app.close() from a SIGTERM handler that runs before lameduck's: joins the run as well", async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    const { app } = await startApp(platform, { lameduck: { shutdown, insecure: true }, ...usersOverDb(journal) })
    // The same signal, two handlers: the application's first, then the coordinator's.
    const closed = app.close()
    const run = shutdown.shutdown('SIGTERM', { trigger: 'signal' })
    const [report] = await Promise.all([run, closed])
    expect(taskNames(report)).toEqual(['nest-before-shutdown', 'http-drain', 'nest-close'])
    // Each hook once, each with its dependency.
    expect(journal).toEqual([
      'Users.beforeApplicationShutdown(SIGTERM) db open',
      'Users.onModuleDestroy(undefined) db open',
      'Db.onModuleDestroy',
      'Users.onApplicationShutdown(SIGTERM)',
      'Db.onApplicationShutdown(SIGTERM)',
    ])
  })

  it('app.close() once the close task has run (a task of the report phase): resolved at once, no hook again', async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    const { app } = await startApp(platform, { lameduck: { shutdown, insecure: true }, ...usersOverDb(journal) })
    shutdown.addTask({ name: 'late-close', phase: 'report', timeoutMs: 2_000, run: () => app.close() })
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'late-close').outcome).toBe('ok')
    expect(taskReport(report, 'late-close').durationMs).toBeLessThan(1_000)
    expect(journal.filter((line) => line.includes('onModuleDestroy'))).toHaveLength(2)
  })

  it("the close task removed, app.close() in a task of the application's own: closed there, as the close task would have, the hooks once", async () => {
    const journal: Journal = []
    const shutdown = testShutdown()
    phases(shutdown, journal)
    const { app, attachment } = await startApp(platform, {
      lameduck: { shutdown, insecure: true },
      ...usersOverDb(journal),
    })
    attachment?.close.remove()
    shutdown.addTask({ name: 'my-close', phase: 'release', timeoutMs: 3_000, run: () => app.close() })
    const report = await shutdown.shutdown('SIGTERM', { trigger: 'signal' })
    expect(taskNames(report)).toEqual(['nest-before-shutdown', 'http-drain', 'my-close'])
    expect(taskReport(report, 'my-close').outcome).toBe('ok')
    expect(journal.slice(journal.indexOf('phase:release'), journal.indexOf('phase:close'))).toEqual([
      'phase:release',
      'Users.onModuleDestroy(undefined) db open',
      'Db.onModuleDestroy',
      // The signal of the run, as the close task would have passed it.
      'Users.onApplicationShutdown(SIGTERM)',
      'Db.onApplicationShutdown(SIGTERM)',
    ])
  })

  it('the coordinator is injectable: SHUTDOWN and @InjectShutdown(), tasks added from providers run in their phase', async () => {
    const shutdown = testShutdown()
    const seen: unknown[] = []
    class Flusher {
      constructor(coordinator: Shutdown, same: Shutdown) {
        seen.push(coordinator, same)
        coordinator.addTask({ name: 'flush-cache', phase: 'flush', run: () => undefined })
      }
    }
    InjectShutdown()(Flusher, undefined, 0)
    Inject(SHUTDOWN)(Flusher, undefined, 1)
    Injectable()(Flusher)
    // In a module of its own that does not import LameduckModule: the module is global.
    class FeatureModule {}
    Module({ providers: [Flusher] })(FeatureModule)
    const { app } = await startApp(platform, { lameduck: { shutdown, insecure: true }, imports: [FeatureModule] })
    expect(seen).toEqual([shutdown, shutdown])
    expect(app.get(SHUTDOWN)).toBe(shutdown)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'flush-cache')).toMatchObject({ outcome: 'ok' })
  })

  it('forRootAsync: the options from a factory with injected providers; the coordinator created from its options', async () => {
    const config = { token: TOKEN, drainDelayMs: 0 }
    class ConfigModule {}
    Module({ providers: [{ provide: 'CONFIG', useValue: config }], exports: ['CONFIG'] })(ConfigModule)
    const { app, url } = await startApp(platform, {
      lameduck: LameduckModule.forRootAsync({
        imports: [ConfigModule],
        inject: ['CONFIG'],
        useFactory: async (c: typeof config) => ({
          token: c.token,
          shutdown: { drainDelayMs: c.drainDelayMs, exit: false, signals: [], logger: false, terminationLog: false },
        }),
      }),
    })
    const shutdown = app.get<Shutdown>(SHUTDOWN)
    expect(shutdown.config.drainDelayMs).toBe(0)
    const reply = await fetch(`${url}/shutdown`, { headers: bearer })
    expect(reply.status).toBe(200)
    expect(((await reply.json()) as ShutdownReport).exitCode).toBe(0)
  })
})

describe('in a test of the application (@nestjs/testing)', () => {
  it.each(PLATFORMS)(
    'moduleRef.createNestApplication() on %s: attach, init, and the shutdown runs the hooks',
    async (platform) => {
      const journal: Journal = []
      const shutdown = testShutdown()
      const { imports, providers } = usersOverDb(journal)
      class AppModule {}
      Module({ imports: [LameduckModule.forRoot({ shutdown, insecure: true }), ...imports], providers })(AppModule)
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile()
      const app =
        platform === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
          : moduleRef.createNestApplication({ logger: false })
      LameduckModule.attach(app)
      await app.init()
      const report = await shutdown.shutdown()
      expect(taskNames(report)).toEqual(['nest-before-shutdown', 'http-drain', 'nest-close'])
      expect(report.exitCode).toBe(0)
      expect(journal).toContain('Users.onModuleDestroy(undefined) db open')
    },
  )
})
