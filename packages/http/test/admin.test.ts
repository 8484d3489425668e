import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { listenAdmin, NotASocketError } from '@lameduck/http'
import { afterAll, describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'
import { get } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'lameduck-admin-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let sockets = 0
const socketPath = () => join(dir, `admin-${++sockets}.sock`)

/** One request over a Unix socket. */
function getOver(path: string, url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: url, method, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.once('error', reject)
    req.end()
  })
}

/** A socket file nobody listens on: what a process killed with SIGKILL leaves behind. */
function staleSocket(path: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`
  spawnSync(process.execPath, ['-e', script], { timeout: 10_000 })
  expect(lstatSync(path).isSocket()).toBe(true)
}

describe('listenAdmin', () => {
  it('serves the probes and extra handlers, 404 otherwise, and closes last', async () => {
    const shutdown = testShutdown()
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.code))
    const order: string[] = []
    shutdown.on('taskEnd', (t) => order.push(t.name))
    shutdown.addTask({ name: 'close-db', phase: 'close', run: () => {} })
    const admin = await listenAdmin(shutdown, {
      port: 0,
      host: '127.0.0.1',
      env: {},
      handlers: [
        (req, res) => {
          if (req.url !== '/metrics') return false
          res.end('lameduck_up 1\n')
          return true
        },
      ],
    })
    expect(warnings).toEqual(['LAMEDUCK_WARN_ADMIN_NO_TOKEN'])
    expect((await get('http', admin.port, '/healthz')).status).toBe(200)
    expect((await get('http', admin.port, '/metrics')).body).toBe('lameduck_up 1\n')
    expect((await get('http', admin.port, '/nope')).status).toBe(404)
    // No token on the admin port: allowed (with the warning above).
    const reply = await get('http', admin.port, '/shutdown', { method: 'POST' })
    expect(reply.status).toBe(200)
    expect(order).toEqual(['close-db', 'admin-server-close'])
    await delay(20)
    expect(admin.server.listening).toBe(false)
  })

  it('requires the token on the admin port when one is configured', async () => {
    const shutdown = testShutdown()
    const admin = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', token: 'admin-token-0123456789' })
    expect((await get('http', admin.port, '/shutdown')).status).toBe(401)
    expect(
      (await get('http', admin.port, '/shutdown', { headers: { authorization: 'Bearer admin-token-0123456789' } }))
        .status,
    ).toBe(200)
  })

  it('rejects a bad port and reports a port in use', async () => {
    const shutdown = testShutdown()
    await expect(listenAdmin(shutdown, { port: -1 })).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    const first = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', token: 'admin-token-0123456789' })
    const other = testShutdown()
    await expect(
      listenAdmin(other, { port: first.port, host: '127.0.0.1', token: 'admin-token-0123456789' }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await first.close()
  })

  it('a loopback host: the warning says every container of the pod can reach it', async () => {
    const shutdown = testShutdown()
    const messages: string[] = []
    shutdown.on('warning', (w) => messages.push(w.message))
    const admin = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', env: {} })
    expect(messages).toEqual([expect.stringMatching(/without a token on 127\.0\.0\.1: every container of the pod/)])
    await admin.close()
  })
})

describe('listenAdmin on a Unix socket', () => {
  it('serves the routes on the socket, closes last, and removes the file when it closes', async () => {
    const shutdown = testShutdown()
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.code))
    const path = socketPath()
    const admin = await listenAdmin(shutdown, { socketPath: path, env: {} })
    expect(admin.socketPath).toBe(path)
    expect('port' in admin).toBe(false)
    expect(lstatSync(path).isSocket()).toBe(true)
    // No token, and no warning: only processes that can open the file reach it.
    expect(warnings).toEqual([])
    expect((await getOver(path, '/healthz')).status).toBe(200)
    const reply = await getOver(path, '/shutdown', 'POST')
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toMatchObject({ trigger: 'http', exitCode: 0 })
    await delay(20)
    expect(admin.server.listening).toBe(false)
    expect(existsSync(path)).toBe(false)
  })

  it('close() removes the file too, and the path can be listened on again', async () => {
    const shutdown = testShutdown()
    const path = socketPath()
    const first = await listenAdmin(shutdown, { socketPath: path, token: 'admin-token-0123456789' })
    await first.close()
    expect(existsSync(path)).toBe(false)
    const second = await listenAdmin(shutdown, { socketPath: path, token: 'admin-token-0123456789' })
    expect((await getOver(path, '/shutdown')).status).toBe(401)
    await second.close()
  })

  it('removes a stale socket (its process was killed) and listens', async () => {
    const path = socketPath()
    staleSocket(path)
    const admin = await listenAdmin(testShutdown(), { socketPath: path, env: {} })
    expect((await getOver(path, '/readyz')).status).toBe(200)
    await admin.close()
  })

  it('leaves a socket something listens on: EADDRINUSE, as for a port in use, and the first keeps serving', async () => {
    const path = socketPath()
    const first = await listenAdmin(testShutdown(), { socketPath: path, env: {} })
    const other = testShutdown()
    await expect(listenAdmin(other, { socketPath: path, env: {} })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    expect((await getOver(path, '/healthz')).status).toBe(200)
    // Nothing registered on the coordinator whose listen failed.
    expect((await other.shutdown()).phases.flatMap((p) => p.tasks)).toEqual([])
    await first.close()
  })

  it.each([
    ['file', (path: string) => writeFileSync(path, 'data\n')],
    ['directory', (path: string) => mkdirSync(path)],
    ['symbolic link', (path: string) => symlinkSync(join(dir, 'elsewhere.sock'), path)],
  ])('refuses a %s at the path with NotASocketError, and leaves it there', async (kind, make) => {
    const path = socketPath()
    make(path)
    const error = await listenAdmin(testShutdown(), { socketPath: path, env: {} }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotASocketError)
    expect(error).toMatchObject({
      code: 'LAMEDUCK_ERR_NOT_A_SOCKET',
      path,
      found: kind,
      message: expect.stringContaining(`is a ${kind}, not a Unix socket; refusing to replace it`),
    })
    expect(existsSync(path) || lstatSync(path).isSymbolicLink()).toBe(true)
  })

  it('a process that exits without closing it (process.exit) removes the file on its way out', async () => {
    const path = socketPath()
    const script = `
      import { createShutdown } from '@lameduck/core'
      import { listenAdmin } from '@lameduck/http'
      const shutdown = createShutdown({ exit: false, logger: false, signals: [] })
      await listenAdmin(shutdown, { socketPath: ${JSON.stringify(path)}, env: {} })
      console.log('listening')
      process.exit(0)`
    const cwd = fileURLToPath(new URL('..', import.meta.url))
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const [code] = await once(child, 'close')
    clearTimeout(timer)
    expect(out.trim()).toBe('listening')
    expect(code).toBe(0)
    expect(existsSync(path)).toBe(false)
  })
})
