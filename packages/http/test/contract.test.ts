// The adapter contract of @lameduck/core/adapter for both functions of this package that register a task:
// drainHttpServer through the shared table-driven suite, listenAdmin (async: it listens first) with the same
// checks written out — one error code for an invalid duration, one handle shape, the kit's policy for a
// second registration and for names — and the defects the contract review found (issue 12).
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import { createServer as createNetServer } from 'node:net'
import type { Clock, Registration, Shutdown } from '@lameduck/core'
import { DuplicateRegistrationError } from '@lameduck/core/adapter'
import { closeEventStreams, createProbes, drainHttpServer, HTTP_DEFAULTS, listenAdmin } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'
import { delay, taskNames, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { closedAfterEach, get, listen, makeServer } from './helpers.js'

const TOKEN = 'contract-token-0123456789'
const servers = closedAfterEach()

function server(): Server {
  const s = createServer((_req, res) => res.end('served'))
  servers.push(s)
  return s
}

// Built first (pnpm --filter @lameduck/http build): the CommonJS copy of the package.
const commonJs = createRequire(import.meta.url)('@lameduck/http') as typeof import('@lameduck/http')

describeAdapterContract('@lameduck/http', [
  {
    where: 'drainHttpServer',
    defaults: HTTP_DEFAULTS.drain,
    resource: () => createServer(),
    // `checkTimeouts: false` added to an options object, anything else (null, …) passed as it is.
    register: (shutdown, resource, options) =>
      drainHttpServer(
        shutdown,
        resource as Server,
        options === undefined || (typeof options === 'object' && options !== null)
          ? { checkTimeouts: false, ...options }
          : options,
      ),
    members: ['server', 'connections', 'inFlight', 'stats'],
    durations: { idleMs: {} },
    registerCommonJs: (shutdown, resource) => commonJs.drainHttpServer(shutdown, resource as Server),
  },
  {
    where: 'closeEventStreams',
    defaults: HTTP_DEFAULTS.eventStreams,
    resource: () => createServer(),
    register: (shutdown, resource, options) => closeEventStreams(shutdown, resource as Server, options as never),
    members: ['add', 'streams', 'stats'],
    durations: { spreadMs: {}, handshakeMs: {}, retryMs: {} },
    registerCommonJs: (shutdown, resource) => commonJs.closeEventStreams(shutdown, resource as Server),
  },
])

/** The error `call` throws or rejects with. */
async function failure(call: () => unknown): Promise<{ code?: string; message: string } | undefined> {
  try {
    await call()
  } catch (error) {
    return error as { code?: string; message: string }
  }
  return undefined
}

/** An admin server on a free loopback port, closed after the test. */
async function admin(shutdown: Shutdown, options: Record<string, unknown> = {}) {
  const handle = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', token: TOKEN, ...options })
  servers.push(handle.server)
  return handle
}

describe('listenAdmin: the adapter contract', () => {
  it('refuses every invalid duration with LAMEDUCK_ERR_INVALID_DURATION, before listening', async () => {
    const shutdown = testShutdown()
    for (const value of [null, -1, Number.NaN, '10', 2 ** 31, Number.POSITIVE_INFINITY])
      expect(await failure(() => admin(shutdown, { timeoutMs: value })), String(value)).toMatchObject({
        code: 'LAMEDUCK_ERR_INVALID_DURATION',
        message: expect.stringContaining('timeoutMs of listenAdmin'),
      })
    expect(await failure(() => admin(shutdown, { timeout: 100 }))).toMatchObject({
      code: 'LAMEDUCK_ERR_UNKNOWN_OPTION',
      message: expect.stringContaining('did you mean "timeoutMs"?'),
    })
    expect(await failure(() => admin(shutdown, { phase: 'cleanup' }))).toMatchObject({
      code: 'LAMEDUCK_ERR_UNKNOWN_PHASE',
    })
    expect(servers).toEqual([])
    expect(taskNames(await shutdown.shutdown())).toEqual([])
  })

  it('returns the one handle shape: name, remove() (idempotent), [Symbol.dispose], and its own members', async () => {
    const shutdown = testShutdown()
    const handle = await admin(shutdown)
    expect(Object.keys(handle).sort()).toEqual(['close', 'name', 'port', 'remove', 'server'])
    expect(handle.name).toBe(HTTP_DEFAULTS.admin.name)
    const disposed: Registration = await admin(shutdown)
    disposed[Symbol.dispose]()
    disposed.remove()
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual([HTTP_DEFAULTS.admin.name])
    expect(taskReport(report, HTTP_DEFAULTS.admin.name)).toMatchObject({
      phase: HTTP_DEFAULTS.admin.phase,
      critical: HTTP_DEFAULTS.admin.critical,
      budgetMs: HTTP_DEFAULTS.admin.timeoutMs,
    })
  })

  it('names: a second admin server gets the default numbered, a chosen name that is taken is refused', async () => {
    const shutdown = testShutdown()
    expect((await admin(shutdown)).name).toBe('admin-server-close')
    expect((await admin(shutdown)).name).toBe('admin-server-close-2')
    expect(await failure(() => admin(shutdown, { name: 'admin-server-close' }))).toMatchObject({
      code: 'LAMEDUCK_ERR_DUPLICATE_TASK',
    })
    const named = await admin(shutdown, { name: 'ops', phase: 'close', timeoutMs: 300, critical: true })
    const report = await shutdown.shutdown()
    expect(taskReport(report, named.name)).toMatchObject({
      phase: 'close',
      budgetMs: 300,
      critical: true,
      outcome: 'ok',
    })
    // The refused one did not stay listening.
    expect(servers.filter((s) => s.listening)).toHaveLength(0)
  })
})

describe('a second registration of the same server', () => {
  it('on the same coordinator: the kit’s DuplicateRegistrationError, nothing touched, the first drain still works', async () => {
    const shutdown = testShutdown()
    const s = server()
    const first = drainHttpServer(shutdown, s, { checkTimeouts: false })
    const listeners = s.eventNames().map((e) => [e, s.listenerCount(e)])
    const error = await failure(() => drainHttpServer(shutdown, s, { checkTimeouts: false }))
    expect(error).toBeInstanceOf(DuplicateRegistrationError)
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION', task: 'http-drain' })
    expect(error?.message).toMatch(
      /^drainHttpServer: this server is already registered on this coordinator \(as "http-drain"\)/,
    )
    expect(s.eventNames().map((e) => [e, s.listenerCount(e)])).toEqual(listeners)

    const port = await listen(s)
    expect((await get('http', port, '/')).body).toBe('served')
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual(['http-drain'])
    expect(report.exitCode).toBe(0)
    expect(first.stats).toMatchObject({ forced: 0 })
    expect(s.listening).toBe(false)
  })

  it('on another coordinator: allowed, and both drains share one tracker of the server', async () => {
    const s = server()
    const connection = s.listenerCount('connection')
    const [a, b] = [testShutdown(), testShutdown()]
    const first = drainHttpServer(a, s, { checkTimeouts: false })
    const second = drainHttpServer(b, s, { checkTimeouts: false })
    expect(s.listenerCount('connection')).toBe(connection + 1)
    const port = await listen(s)
    expect((await get('http', port, '/')).body).toBe('served')
    first.remove()
    expect(s.listenerCount('connection')).toBe(connection + 1)
    expect((await b.shutdown()).exitCode).toBe(0)
    expect(second.stats).toMatchObject({ forced: 0 })
    second.remove()
    expect(s.listenerCount('connection')).toBe(connection)
  })

  it('after remove(), can be drained again — and remove() left none of the drain’s listeners on the server', () => {
    const shutdown = testShutdown()
    for (const kind of ['http', 'https'] as const) {
      const s = makeServer(kind, () => {})
      const before = s.eventNames().map((e) => [e, s.listenerCount(e)])
      const listening = s.listenerCount('listening')
      // Default options: checkTimeouts waits for 'listening' with a listener of its own.
      const drain = drainHttpServer(shutdown, s)
      expect(s.listenerCount('listening')).toBeGreaterThan(listening)
      drain.remove()
      expect(s.eventNames().map((e) => [e, s.listenerCount(e)])).toEqual(before)
      expect(() => drainHttpServer(shutdown, s, { checkTimeouts: false })).not.toThrow()
    }
  })
})

describe('listenAdmin registers its close task once it listens', () => {
  it('a retry after EADDRINUSE succeeds, with one close task', async () => {
    const blocker = createNetServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const shutdown = testShutdown()
    const options = { port, host: '127.0.0.1', token: TOKEN }
    await expect(listenAdmin(shutdown, options)).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await new Promise((resolve) => blocker.close(resolve))
    const admin = await listenAdmin(shutdown, options)
    servers.push(admin.server)
    expect(admin).toMatchObject({ name: 'admin-server-close', port })
    expect((await get('http', port, '/healthz')).status).toBe(200)
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual(['admin-server-close'])
    expect(taskReport(report, 'admin-server-close').outcome).toBe('ok')
    await delay(20)
    expect(admin.server.listening).toBe(false)
  })

  it('remove() leaves the server open for the application; close() closes it now', async () => {
    const shutdown = testShutdown()
    const admin = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', token: TOKEN })
    servers.push(admin.server)
    admin.remove()
    expect(taskNames(await shutdown.shutdown())).toEqual([])
    expect(admin.server.listening).toBe(true)
    await admin.close()
    expect(admin.server.listening).toBe(false)
  })
})

describe('createProbes takes (shutdown, options?) and nothing internal', () => {
  it('has no third parameter naming the caller, and no requireToken option', () => {
    const shutdown = testShutdown()
    const call = createProbes as unknown as (...args: unknown[]) => unknown
    expect(() => call(shutdown, { tokn: TOKEN }, 'someone')).toThrow(/^createProbes: unknown option "tokn"/)
    expect(() => call(shutdown, { env: {}, requireToken: false })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION' }),
    )
  })
})

describe('timing by the coordinator’s clock', () => {
  it('the drain’s force time is read on shutdown.clock, not Date.now()', async () => {
    // A clock an hour behind the system's: a drain that compared its deadline (on this clock) with
    // Date.now() would think it long past and cut the request in flight at once.
    const behind: Clock = {
      now: () => Date.now() - 3_600_000,
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    }
    const shutdown = testShutdown({ clock: behind })
    const s = makeServer('http', (_req, res) => {
      setTimeout(() => res.end('slow'), 200)
    })
    servers.push(s)
    const drain = drainHttpServer(shutdown, s, { timeoutMs: 3000, checkTimeouts: false })
    const port = await listen(s)
    const reply = get('http', port, '/')
    await delay(30)
    const report = await shutdown.shutdown()
    expect((await reply).body).toBe('slow')
    expect(taskReport(report, 'http-drain').outcome).toBe('ok')
    expect(drain.stats).toMatchObject({ forced: 0, requestsCut: 0 })
  })
})
