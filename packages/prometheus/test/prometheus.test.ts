import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createWriteBehind } from '@lameduck/cache'
import { drainHttpServer, listenAdmin } from '@lameduck/http'
import { instrument, metricsHandler, metricsMiddleware, pushOnShutdown } from '@lameduck/prometheus'
import express from 'express'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { closedAfterEach, listen as listenOn } from '../../../test/support/servers.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'

const servers = closedAfterEach()
function listen(server: Server): Promise<number> {
  servers.push(server)
  return listenOn(server)
}

function value(text: string, metric: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `))
  return line === undefined ? undefined : Number(line.slice(metric.length + 1))
}

describe('instrument', () => {
  it('records every task with its phase and outcome through a real shutdown', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    instrument(shutdown, { registry })
    shutdown.addTask({ name: 'flush-cache', phase: 'flush', run: () => delay(30) })
    shutdown.addTask({ name: 'slow-release', phase: 'release', timeoutMs: 50, run: () => new Promise(() => {}) })
    shutdown.addTask({ name: 'broken-close', phase: 'close', run: () => Promise.reject(new Error('x')) })
    const before = await registry.metrics()
    expect(value(before, 'lameduck_ready')).toBe(1)
    expect(value(before, 'lameduck_state{state="running"}')).toBe(1)
    await shutdown.shutdown('test')
    const text = await registry.metrics()
    const flush = value(text, 'lameduck_task_duration_seconds{task="flush-cache",phase="flush",outcome="ok"}')
    expect(flush).toBeGreaterThanOrEqual(0.025)
    expect(flush).toBeLessThan(1)
    expect(
      value(text, 'lameduck_task_duration_seconds{task="slow-release",phase="release",outcome="timeout"}'),
    ).toBeCloseTo(0.05, 1)
    expect(
      value(text, 'lameduck_task_duration_seconds{task="broken-close",phase="close",outcome="error"}'),
    ).toBeGreaterThanOrEqual(0)
    expect(value(text, 'lameduck_tasks_total{phase="release",outcome="timeout"}')).toBe(1)
    expect(value(text, 'lameduck_tasks_total{phase="flush",outcome="ok"}')).toBe(1)
    expect(value(text, 'lameduck_tasks_total{phase="drain",outcome="ok"}')).toBe(0)
    expect(value(text, 'lameduck_shutdown_triggers_total{trigger="manual"}')).toBe(1)
    expect(value(text, 'lameduck_shutdown_exit_code')).toBe(1)
    expect(value(text, 'lameduck_ready')).toBe(0)
    expect(value(text, 'lameduck_state{state="stopped"}')).toBe(1)
    expect(value(text, 'lameduck_shutdown_duration_seconds')).toBeGreaterThan(0.07)
    expect(value(text, 'lameduck_shutdown_deadline_margin_seconds')).toBeGreaterThan(20)
    expect(text).toContain('# TYPE lameduck_task_duration_seconds gauge')
    expect(text).toContain('# TYPE lameduck_tasks_total counter')
  })

  it('reads adapter metrics from the real adapters at scrape time', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    const server = createServer((_req, res) => setTimeout(() => res.end('ok'), 200))
    const drain = drainHttpServer(shutdown, server, { checkTimeouts: false })
    const port = await listen(server)
    const stored = new Map<string, string>()
    const cache = createWriteBehind(shutdown, {
      name: 'sessions',
      flushIntervalMs: 0,
      sink: {
        write: async (batch) => {
          for (const entry of batch) stored.set(entry.key, entry.value)
        },
      },
    })
    cache.set('a', 1)
    cache.set('b', 2)
    const locks = { held: () => 3 }
    instrument(shutdown, { registry, http: { app: drain }, caches: [cache], locks: { redis: locks } })
    const inFlight = fetch(`http://127.0.0.1:${port}/`)
    await delay(50)
    const text = await registry.metrics()
    expect(value(text, 'lameduck_http_open_connections{server="app"}')).toBe(1)
    expect(value(text, 'lameduck_http_requests_in_flight{server="app"}')).toBe(1)
    expect(value(text, 'lameduck_cache_dirty_entries{cache="sessions"}')).toBe(2)
    expect(value(text, 'lameduck_locks_held{store="redis"}')).toBe(3)
    await inFlight
    await shutdown.shutdown()
    const after = await registry.metrics()
    expect(value(after, 'lameduck_cache_dirty_entries{cache="sessions"}')).toBe(0)
    expect(value(after, 'lameduck_cache_flushed_entries_total{cache="sessions"}')).toBe(2)
    expect(value(after, 'lameduck_cache_failed_writes_total{cache="sessions"}')).toBe(0)
    expect(value(after, 'lameduck_http_forced_closes_total{server="app"}')).toBe(0)
    for (const counter of ['http_forced_closes_total', 'cache_flushed_entries_total', 'cache_failed_writes_total'])
      expect(after).toContain(`# TYPE lameduck_${counter} counter`)
    expect(after).not.toMatch(/^lameduck_(http_forced_closes|cache_flushed_entries|cache_failed_writes)[ {]/m)
  })

  it('counts connections force-closed at the drain deadline', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    const server = createServer(() => {})
    const drain = drainHttpServer(shutdown, server, { checkTimeouts: false, timeoutMs: 100 })
    const port = await listen(server)
    instrument(shutdown, { registry, http: { app: drain } })
    const hanging = fetch(`http://127.0.0.1:${port}/`).catch(() => null)
    await delay(50)
    expect(value(await registry.metrics(), 'lameduck_http_forced_closes_total{server="app"}')).toBe(0)
    await shutdown.shutdown()
    await hanging
    expect(value(await registry.metrics(), 'lameduck_http_forced_closes_total{server="app"}')).toBe(1)
  })

  it('a scrape never fails because of an adapter returning something unexpected', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    instrument(shutdown, {
      registry,
      locks: {
        good: { held: () => 2 },
        list: { held: () => ['a', 'b', 'c'] },
        object: { held: () => ({ size: 1 }) as never },
        text: { held: () => '4' as never },
        nan: { held: () => Number.NaN },
        throws: {
          held: () => {
            throw new Error('adapter broke')
          },
        },
      },
    })
    const admin = await listenAdmin(shutdown, {
      port: 0,
      host: '127.0.0.1',
      token: 'admin-token-0123456789',
      handlers: [metricsHandler({ registry })],
    })
    const res = await fetch(`http://127.0.0.1:${admin.port}/metrics`)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(value(text, 'lameduck_locks_held{store="good"}')).toBe(2)
    expect(value(text, 'lameduck_locks_held{store="list"}')).toBe(3)
    for (const store of ['object', 'text', 'nan', 'throws']) expect(text).not.toContain(`store="${store}"`)
    await shutdown.shutdown()
  })

  it('records health check statuses (a removed check has none), the start-up state and its duration', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    instrument(shutdown, { registry })
    let up = true
    shutdown.health.check('db', () => up, { cacheMs: 0 })
    const cache = shutdown.health.check('cache', () => true)
    let finish!: () => void
    shutdown.startup.task('warm', () => new Promise<void>((resolve) => (finish = resolve)))
    let text = await registry.metrics()
    expect(value(text, 'lameduck_startup_state{state="pending"}')).toBe(1)
    expect(value(text, 'lameduck_startup_state{state="done"}')).toBe(0)
    expect(value(text, 'lameduck_startup_duration_seconds')).toBe(0)
    await delay(40)
    finish()
    await shutdown.startup.done()
    up = false
    await shutdown.health.status('readiness')
    text = await registry.metrics()
    expect(value(text, 'lameduck_startup_state{state="done"}')).toBe(1)
    const took = value(text, 'lameduck_startup_duration_seconds') ?? 0
    expect(took).toBeGreaterThanOrEqual(0.03)
    expect(took).toBeLessThan(2)
    expect(value(text, 'lameduck_health_check_status{check="db",status="failing"}')).toBe(1)
    expect(value(text, 'lameduck_health_check_status{check="db",status="ok"}')).toBe(0)
    // A check that was ok from its first run has its series too (no status change ever announced it).
    expect(value(text, 'lameduck_health_check_status{check="cache",status="ok"}')).toBe(1)
    up = true
    await shutdown.health.status('readiness')
    cache.remove()
    text = await registry.metrics()
    expect(value(text, 'lameduck_health_check_status{check="db",status="failing"}')).toBe(0)
    expect(value(text, 'lameduck_health_check_status{check="db",status="ok"}')).toBe(1)
    // A removed check leaves no series behind.
    expect(text).not.toContain('check="cache"')
    await shutdown.shutdown('test')
  })

  it('the exit code gauge counts a start-up that failed before the trigger, not one the run aborted', async () => {
    const failed = testShutdown()
    const registry = new Registry()
    instrument(failed, { registry })
    failed.startup.task('migrate', () => Promise.reject(new Error('nope')))
    await failed.startup.done()
    failed.addTask({ name: 'hold', phase: 'drain', run: () => delay(50) })
    const run = failed.shutdown('test')
    await delay(20)
    // Before the report: what a push in the report phase would carry.
    expect(value(await registry.metrics(), 'lameduck_shutdown_exit_code')).toBe(1)
    expect((await run).exitCode).toBe(1)

    const aborted = testShutdown()
    const other = new Registry()
    instrument(aborted, { registry: other })
    aborted.startup.task('connect', () => new Promise(() => {}))
    expect((await aborted.shutdown('test')).exitCode).toBe(0)
    const text = await other.metrics()
    expect(value(text, 'lameduck_shutdown_exit_code')).toBe(0)
    expect(value(text, 'lameduck_startup_state{state="aborted"}')).toBe(1)
  })

  it('remove() unregisters its metrics', () => {
    const registry = new Registry()
    const handle = instrument(testShutdown(), { registry })
    expect(registry.getMetricsAsArray().length).toBeGreaterThan(5)
    handle.remove()
    expect(registry.getMetricsAsArray()).toEqual([])
  })
})

describe('pushOnShutdown', () => {
  it('pushes the registry in the report phase to the Pushgateway path, with the task metrics', async () => {
    const received: { method?: string; url?: string; body: string }[] = []
    const gateway = createServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, body })
        res.end()
      })
    })
    const port = await listen(gateway)
    const shutdown = testShutdown()
    const registry = new Registry()
    instrument(shutdown, { registry })
    shutdown.addTask({ name: 'flush-cache', phase: 'flush', run: () => {} })
    pushOnShutdown(shutdown, {
      url: `http://127.0.0.1:${port}`,
      job: 'orders api',
      groupings: { instance: 'pod-7' },
      registry,
    })
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(received).toHaveLength(1)
    expect(received[0]?.method).toBe('POST')
    expect(received[0]?.url).toBe('/metrics/job/orders%20api/instance/pod-7')
    expect(received[0]?.body).toContain('lameduck_task_duration_seconds{task="flush-cache",phase="flush",outcome="ok"}')
    expect(received[0]?.body).toContain('lameduck_tasks_total{phase="flush",outcome="ok"} 1')
    expect(taskReport(report, 'prometheus-push')).toMatchObject({ phase: 'report', outcome: 'ok' })

    const put = testShutdown()
    pushOnShutdown(put, { url: `http://127.0.0.1:${port}`, job: 'j', registry, method: 'PUT' })
    await put.shutdown()
    expect(received[1]?.method).toBe('PUT')
  })

  it("the push carries the run's exit code: 1 after a failing critical task or a fatal trigger, else 0", async () => {
    const bodies: string[] = []
    const gateway = createServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        bodies.push(body)
        res.end()
      })
    })
    const port = await listen(gateway)

    const failing = testShutdown()
    const registry = new Registry()
    instrument(failing, { registry })
    failing.addTask({ name: 'close-db', phase: 'close', critical: true, run: () => Promise.reject(new Error('boom')) })
    pushOnShutdown(failing, { url: `http://127.0.0.1:${port}`, job: 'j', registry })
    const report = await failing.shutdown()
    expect(report.exitCode).toBe(1)
    expect(taskReport(report, 'prometheus-push').outcome).toBe('ok')
    expect(bodies).toHaveLength(1)
    expect(value(bodies[0] ?? '', 'lameduck_shutdown_exit_code')).toBe(1)

    const tolerated = testShutdown()
    const other = new Registry()
    instrument(tolerated, { registry: other })
    tolerated.addTask({
      name: 'warm-cache',
      phase: 'close',
      critical: false,
      run: () => Promise.reject(new Error('x')),
    })
    pushOnShutdown(tolerated, { url: `http://127.0.0.1:${port}`, job: 'j', registry: other })
    expect((await tolerated.shutdown()).exitCode).toBe(0)
    expect(value(bodies[1] ?? '', 'lameduck_shutdown_exit_code')).toBe(0)

    const fatal = testShutdown()
    const third = new Registry()
    instrument(fatal, { registry: third })
    pushOnShutdown(fatal, { url: `http://127.0.0.1:${port}`, job: 'j', registry: third })
    expect((await fatal.shutdown('uncaught', { trigger: 'fatal' })).exitCode).toBe(1)
    expect(value(bodies[2] ?? '', 'lameduck_shutdown_exit_code')).toBe(1)
  })

  it('a Pushgateway that is down is retried, reported, and does not change the exit code', async () => {
    const closed = createServer()
    const port = await listen(closed)
    closed.close()
    const shutdown = testShutdown()
    pushOnShutdown(shutdown, { url: `http://127.0.0.1:${port}`, job: 'j', registry: new Registry(), retries: 2 })
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(2500)
    const task = taskReport(report, 'prometheus-push')
    expect(task).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_PUSH_FAILED', critical: false })
    expect(task.error).toMatch(/could not push to .* \(3 attempts\)/)
    expect(task.error).toMatch(/ECONNREFUSED/)
    expect(report.exitCode).toBe(0)
  })

  it('retries a failing push: 503, 503, then 200 is a success; and stops after 1 + retries attempts', async () => {
    const answers: number[] = []
    let script: number[] = []
    const gateway = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const status = script.shift() ?? 503
        answers.push(status)
        res.writeHead(status).end()
      })
    })
    const port = await listen(gateway)
    try {
      script = [503, 503, 200]
      const recovers = testShutdown()
      pushOnShutdown(recovers, { url: `http://127.0.0.1:${port}`, job: 'j', registry: new Registry(), retries: 2 })
      const ok = await recovers.shutdown()
      expect(answers).toEqual([503, 503, 200])
      expect(taskReport(ok, 'prometheus-push').outcome).toBe('ok')

      answers.length = 0
      script = []
      const down = testShutdown()
      pushOnShutdown(down, { url: `http://127.0.0.1:${port}`, job: 'j', registry: new Registry(), retries: 1 })
      const failed = await down.shutdown()
      expect(answers).toEqual([503, 503])
      expect(taskReport(failed, 'prometheus-push')).toMatchObject({
        outcome: 'error',
        code: 'LAMEDUCK_ERR_PUSH_FAILED',
      })
    } finally {
      gateway.close()
    }
  })

  it('a Pushgateway that hangs is abandoned within the budget', async () => {
    const hanging = createServer(() => {})
    const port = await listen(hanging)
    const shutdown = testShutdown()
    pushOnShutdown(shutdown, { url: `http://127.0.0.1:${port}`, job: 'j', registry: new Registry(), timeoutMs: 400 })
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(taskReport(report, 'prometheus-push').outcome).toMatch(/error|timeout/)
    expect(report.exitCode).toBe(0)
  })

  it('rejects bad options at registration', () => {
    const shutdown = testShutdown()
    expect(() => pushOnShutdown(shutdown, { url: 'pushgateway:9091', job: 'j' })).toThrow(/url/)
    expect(() => pushOnShutdown(shutdown, { url: 'http://x', job: '' })).toThrow(/job/)
    expect(() => pushOnShutdown(shutdown, { url: 'http://x', job: 'j', method: 'GET' as never })).toThrow(/method/)
  })
})

describe('/metrics', () => {
  it('is served by the admin server through the whole shutdown', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    instrument(shutdown, { registry })
    const admin = await listenAdmin(shutdown, {
      port: 0,
      host: '127.0.0.1',
      token: 'admin-token-0123456789',
      handlers: [metricsHandler({ registry })],
    })
    const first = await fetch(`http://127.0.0.1:${admin.port}/metrics`)
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toContain('text/plain')
    expect(await first.text()).toContain('lameduck_ready 1')
    let during = ''
    shutdown.addTask({
      name: 'scrape-during',
      phase: 'close',
      run: async () => {
        during = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text()
      },
    })
    await shutdown.shutdown()
    expect(during).toContain('lameduck_state{state="stopping"} 1')
    expect(
      (await fetch(`http://127.0.0.1:${admin.port}/metrics`, { method: 'POST' }).catch(() => null))?.status ?? 0,
    ).not.toBe(200)
  })

  it('is mountable in Express', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    instrument(shutdown, { registry })
    const app = express()
    app.use(metricsMiddleware({ registry }))
    app.get('/', (_req, res) => {
      res.send('app')
    })
    const port = await listen(createServer(app))
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain('# TYPE lameduck_state gauge')
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('app')
  })
})
