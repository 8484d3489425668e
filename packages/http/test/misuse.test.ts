// What a JavaScript caller can get wrong, caught at configuration time with one named error per mistake:
// wrong arguments, unknown option keys (with "did you mean"), null, wrong types, durations out of range —
// and the two mistakes that used to disable draining silently: an Express app instead of its server, and
// a server that starts listening after its drain ran.
import { createServer, type Server } from 'node:http'
import { DuplicateTaskError, InvalidOptionError, type Shutdown } from '@lameduck/core'
import {
  createProbes,
  drainHttpServer,
  listenAdmin,
  protectConnection,
  ShutdownTokenRequiredError,
} from '@lameduck/http'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'
import { closedAfterEach, get, listen } from './helpers.js'

const servers = closedAfterEach()

function server(): Server {
  const s = createServer((_req, res) => res.end('served'))
  servers.push(s)
  return s
}

/** Whether `shutdown` has a task named `name` (registering one of that name is refused). */
function hasTask(shutdown: Shutdown, name: string): boolean {
  try {
    shutdown.addTask({ name, run: () => {} }).remove()
    return false
  } catch (error) {
    if (error instanceof DuplicateTaskError) return true
    throw error
  }
}

type Row = [what: string, call: () => unknown, code: string, message: RegExp]

/** Every row throws (or rejects with) a lameduck error with its code and a message naming what was passed. */
async function expectRows(rows: Row[]): Promise<void> {
  const failures: string[] = []
  for (const [what, call, code, message] of rows) {
    let error: unknown
    try {
      await call()
    } catch (e) {
      error = e
    }
    const got = error as { code?: string; message?: string } | undefined
    if (got?.code !== code || !message.test(got.message ?? ''))
      failures.push(`${what}: expected ${code} ${message}, got ${got ? `${got.code} "${got.message}"` : 'no error'}`)
  }
  expect(failures).toEqual([])
}

const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
const DURATION = 'LAMEDUCK_ERR_INVALID_DURATION'
const UNKNOWN = 'LAMEDUCK_ERR_UNKNOWN_OPTION'

describe('drainHttpServer: wrong arguments', () => {
  it('an Express app instead of its server is refused, telling to pass the http.Server', () => {
    const shutdown = testShutdown()
    const app = express()
    let error: unknown
    try {
      drainHttpServer(shutdown, app as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error).toMatchObject({ code: INVALID })
    expect((error as Error).message).toMatch(/an Express app/)
    expect((error as Error).message).toMatch(/app\.listen\(\)/)
    expect((error as Error).message).toMatch(/http\.createServer\(app\)/)
    // Nothing was registered: the coordinator has no drain task.
    expect(hasTask(shutdown, 'http-drain')).toBe(false)
  })

  it('what is not a coordinator or not a server is refused, naming what was passed', async () => {
    const shutdown = testShutdown()
    const s = server()
    const listeners = s.listenerCount('connection')
    const wrapped = { server: s } // e.g. a Fastify instance
    await expectRows([
      ['no server', () => drainHttpServer(shutdown, undefined as never), INVALID, /server argument.*got undefined/],
      ['an object', () => drainHttpServer(shutdown, {} as never), INVALID, /node:http.*got an object/],
      ['a framework instance', () => drainHttpServer(shutdown, wrapped as never), INVALID, /did you mean its \.server/],
      ['a port', () => drainHttpServer(shutdown, 3000 as never), INVALID, /got 3000/],
      ['no coordinator', () => drainHttpServer(undefined as never, s), INVALID, /createShutdown\(\).*got undefined/],
      ['swapped', () => drainHttpServer(s as never, shutdown as never), INVALID, /coordinator comes first/],
      ['shutdown.shutdown', () => drainHttpServer(shutdown.shutdown as never, s), INVALID, /got a function/],
      ['options first', () => drainHttpServer({ drainDelayMs: 5 } as never, s), INVALID, /got an object/],
    ])
    expect(s.listenerCount('connection')).toBe(listeners)
  })
})

describe('a server that starts listening after its drain ran', () => {
  it('is closed at once, before serving anything, with LAMEDUCK_WARN_LISTEN_AFTER_DRAIN', async () => {
    const shutdown = testShutdown({ drainDelayMs: 200 })
    // One server starts listening during the drain delay (the drain takes care of it), one in the flush.
    const early = server()
    const late = server()
    drainHttpServer(shutdown, early, { checkTimeouts: false })
    drainHttpServer(shutdown, late, { checkTimeouts: false })
    const warnings: { code: string; message: string }[] = []
    shutdown.on('warning', (w) => warnings.push(w))
    let outcome: unknown
    let portSeen = 0
    shutdown.addTask({
      name: 'listens-late',
      phase: 'flush',
      run: async () => {
        // The application's own listen callback still sees the address.
        portSeen = await listen(late)
        await delay(20)
        outcome = await get('http', portSeen, '/').then(
          (reply) => reply.status,
          (error: NodeJS.ErrnoException) => error.code,
        )
      },
    })
    const run = shutdown.shutdown()
    const reply = await get('http', await listen(early), '/')
    expect(reply).toMatchObject({ status: 200, body: 'served' })
    expect(reply.headers.connection).toBe('close')
    const report = await run
    expect(early.listening).toBe(false)
    expect(portSeen).toBeGreaterThan(0)
    expect(outcome).toBe('ECONNREFUSED')
    expect(late.listening).toBe(false)
    expect(warnings.map((w) => w.code)).toEqual(['LAMEDUCK_WARN_LISTEN_AFTER_DRAIN'])
    expect(warnings[0]?.message).toMatch(/http-drain-2: server\.listen\(\) was called after the drain began/)
    expect(report.exitCode).toBe(0)
  })
})

describe('options objects: unknown keys, null, wrong types, durations', () => {
  it('drainHttpServer', async () => {
    const shutdown = testShutdown()
    const s = server()
    const listeners = s.listenerCount('connection')
    const drain = (options: unknown) => () => drainHttpServer(shutdown, s, options as never)
    await expectRows([
      ['typo', drain({ timeout: 100 }), UNKNOWN, /unknown option "timeout" — did you mean "timeoutMs"\?/],
      ['another typo', drain({ idle: 100 }), UNKNOWN, /did you mean "idleMs"/],
      ['a coordinator option', drain({ drainDelayMs: 100 }), UNKNOWN, /drainHttpServer: unknown option "drainDelayMs"/],
      ['null options', drain(null), INVALID, /drainHttpServer options/],
      ['a string', drain('fast'), INVALID, /drainHttpServer options/],
      ['timeoutMs null', drain({ timeoutMs: null }), DURATION, /timeoutMs of drainHttpServer .*got null/],
      ['timeoutMs negative', drain({ timeoutMs: -1 }), DURATION, /got -1/],
      ['timeoutMs string', drain({ timeoutMs: '1000' }), DURATION, /got "1000"/],
      ['timeoutMs too long', drain({ timeoutMs: 2 ** 31 }), DURATION, /at most 2147483647 ms.*got 2147483648/],
      ['idleMs NaN', drain({ idleMs: Number.NaN }), DURATION, /idleMs of drainHttpServer .*got NaN/],
      ['idleMs null', drain({ idleMs: null }), DURATION, /got null/],
      [
        'critical',
        drain({ critical: 'yes' }),
        INVALID,
        /critical of drainHttpServer: expected true or false; got "yes"/,
      ],
      ['name empty', drain({ name: '' }), INVALID, /name of drainHttpServer: .*got ""/],
      ['name number', drain({ name: 5 }), INVALID, /got 5/],
      ['onDrain', drain({ onDrain: 'bye' }), INVALID, /onDrain of drainHttpServer: expected a function; got "bye"/],
      ['checkTimeouts', drain({ checkTimeouts: 'false' }), INVALID, /checkTimeouts of drainHttpServer.*got "false"/],
    ])
    // None of them registered anything.
    expect(s.listenerCount('connection')).toBe(listeners)
    expect(hasTask(shutdown, 'http-drain')).toBe(false)
    expect(() => drainHttpServer(shutdown, s, undefined)).not.toThrow()
  })

  it('createProbes', async () => {
    const shutdown = testShutdown()
    const probes = (options: unknown) => () => createProbes(shutdown, { insecure: true, ...(options as object) })
    const token = 'a-token-of-some-length'
    await expectRows([
      ['typo', probes({ tokn: token }), UNKNOWN, /createProbes: unknown option "tokn" — did you mean "token"\?/],
      ['singular', probes({ path: {} }), UNKNOWN, /did you mean "paths"/],
      ['null options', () => createProbes(shutdown, null as never), INVALID, /createProbes options/],
      ['no coordinator', () => createProbes({} as never), INVALID, /shutdown argument of createProbes.*got an object/],
      ['paths null', probes({ paths: null }), INVALID, /paths of createProbes: .*got null/],
      ['paths typo', probes({ paths: { live: '/l' } }), UNKNOWN, /unknown option "live" — did you mean "liveness"/],
      ['relative path', probes({ paths: { liveness: 'healthz' } }), INVALID, /paths\.liveness .*got "healthz"/],
      ['liveness false', probes({ paths: { liveness: false } }), INVALID, /paths\.liveness .*got false/],
      ['same paths', probes({ paths: { readiness: '/healthz' } }), INVALID, /a path of its own/],
      ['token number', probes({ token: 12345 }), INVALID, /token of createProbes: .*got 12345/],
      ['token empty', probes({ token: '' }), INVALID, /got an empty string/],
      [
        'token with a space',
        probes({ token: 'abc def ghijklmnop' }),
        INVALID,
        /space, control or non-ASCII one at index 3/,
      ],
      ['token from env', probes({ env: { LAMEDUCK_SHUTDOWN_TOKEN: 'x y' } }), INVALID, /LAMEDUCK_SHUTDOWN_TOKEN/],
      ['insecure', () => createProbes(shutdown, { insecure: 'true' as never }), INVALID, /insecure .*got "true"/],
      ['insecure null', () => createProbes(shutdown, { insecure: null as never }), INVALID, /got null/],
      [
        'liveness check',
        probes({ liveness: true }),
        INVALID,
        /liveness of createProbes: expected a function; got true/,
      ],
      ['env null', probes({ env: null }), INVALID, /env of createProbes: expected an object; got null/],
    ])
    // The token's value is never in a message.
    let message = ''
    try {
      createProbes(shutdown, { token: 'secret value here!' })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).not.toContain('secret')
    expect(() => createProbes(shutdown, { env: {} })).toThrow(ShutdownTokenRequiredError)
  })

  it('listenAdmin', async () => {
    const shutdown = testShutdown()
    const admin = (options: unknown) => () => listenAdmin(shutdown, options as never)
    const rows: Row[] = [
      ['no options', admin(undefined), INVALID, /port of listenAdmin: required/],
      ['null', admin(null), INVALID, /listenAdmin options/],
      ['typo', admin({ prot: 0 }), UNKNOWN, /listenAdmin: unknown option "prot" — did you mean "port"\?/],
      ['port string', admin({ port: '9090' }), INVALID, /got "9090" — a string: pass Number\("9090"\)/],
      ['port too large', admin({ port: 70000 }), INVALID, /from 0 to 65535.*got 70000/],
      ['port null', admin({ port: null }), INVALID, /got null/],
      ['host', admin({ port: 0, host: '' }), INVALID, /host of listenAdmin/],
      ['handlers', admin({ port: 0, handlers: {} }), INVALID, /handlers of listenAdmin: .*got an object/],
      ['a handler', admin({ port: 0, handlers: [() => false, 1] }), INVALID, /handlers\[1\] of listenAdmin.*got 1/],
      ['probe option', admin({ port: 0, insecure: 1 }), INVALID, /insecure of listenAdmin/],
      ['no coordinator', () => listenAdmin(null as never, { port: 0 }), INVALID, /shutdown argument of listenAdmin/],
      [
        'socketPath empty',
        admin({ socketPath: '' }),
        INVALID,
        /socketPath of listenAdmin: expected a non-empty string/,
      ],
      ['socketPath a number', admin({ socketPath: 9090 }), INVALID, /socketPath of listenAdmin: .*got 9090/],
      [
        'socketPath and port',
        admin({ socketPath: '/run/a.sock', port: 9090 }),
        INVALID,
        /socketPath of listenAdmin: a Unix socket has no port: pass \{ port, host\? \} or \{ socketPath \}, not both; got port 9090/,
      ],
      ['socketPath and host', admin({ socketPath: '/run/a.sock', host: '127.0.0.1' }), INVALID, /has no host/],
      [
        'socketPath relative',
        admin({ socketPath: 'admin.sock' }),
        INVALID,
        /expected an absolute path.*got "admin\.sock"/,
      ],
      [
        'socketPath too long',
        admin({ socketPath: `/run/${'x'.repeat(120)}.sock` }),
        INVALID,
        /is 130 bytes; a Unix socket path holds at most 10[37] .*cut short/,
      ],
    ]
    // listenAdmin is async: a mistake rejects its promise before anything listens.
    await expectRows(rows)
    await expect(listenAdmin(shutdown, { port: 0, env: {} }).then((a) => a.close())).resolves.toBeUndefined()
  })

  it('protectConnection', () => {
    expect(() => protectConnection(undefined as never)).toThrow(/req argument of protectConnection.*got undefined/)
  })
})
