import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { jsonLines, type RunningChild, spawnChild } from '../../../test/support/child.js'
import { delay, loggedReport } from '../../../test/support/shutdown.js'
import { get, listen } from './helpers.js'

// The real bin (bin/lameduck-prestop.js, over dist: build first) against a real service in a child process
// (test/fixtures/prestop-service.mjs), as the kubelet runs an exec hook: a process of its own, with the
// container's environment.
const BIN = fileURLToPath(new URL('../bin/lameduck-prestop.js', import.meta.url))
const SERVICE = fileURLToPath(new URL('./fixtures/prestop-service.mjs', import.meta.url))
const TOKEN = 'prestop-test-token-0123456789abcdef'

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})
const dir = mkdtempSync(join(tmpdir(), 'lameduck-prestop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function startService(env: Record<string, string | undefined> = {}) {
  const service = spawnChild(process.execPath, [SERVICE], { env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, ...env } })
  children.push(service)
  const ready = await service.waitFor(/^ready \d+$/)
  return { service, port: Number(ready.split(' ')[1]) }
}

/** Runs the bin with only what is given in its environment of lameduck's (no token, no PORT of the test's). */
async function prestop(args: string[], env: Record<string, string | undefined> = {}) {
  const hook = spawnChild(process.execPath, [BIN, ...args], {
    env: { LAMEDUCK_SHUTDOWN_TOKEN: undefined, PORT: undefined, ...env },
  })
  children.push(hook)
  const { code } = await hook.exited
  return { code, stdout: hook.stdout.join('\n').trim(), stderr: hook.stderr.join('\n').trim() }
}

/** The `warning` lines the service logged, once there are `count` of them (bounded: 5 s). */
async function warningsOf(service: RunningChild, count: number) {
  const warnings = () => jsonLines(service.stderr).filter((line) => line.event === 'warning')
  for (let waited = 0; warnings().length < count && waited < 5000; waited += 20) await delay(20)
  return warnings()
}

describe('lameduck-prestop against a real service', () => {
  it('starts the shutdown, waits for the report, prints one line and exits 0; the service exits 0', async () => {
    const { service, port } = await startService()
    const hook = await prestop(['--port', String(port)], { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN })
    expect(hook.stdout).toMatch(
      /^lameduck-prestop: shutdown ok: exit code 0, trigger http \(POST \/shutdown\), \d+ ms$/,
    )
    expect(hook.stderr).toBe('')
    expect(hook.code).toBe(0)
    // The report came after the work: the task had run, and the service exits on its own, with code 0.
    expect(service.stdout).toContain('flush ran')
    expect((await service.exited).code).toBe(0)
    expect(loggedReport(service.stderr)).toMatchObject({ trigger: 'http', exitCode: 0 })
  })

  it('exits 1 with the failed task named when the shutdown failed', async () => {
    const { service, port } = await startService({ FAIL: '1' })
    const hook = await prestop(['--port', String(port)], { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN })
    expect(hook.stdout).toMatch(
      /^lameduck-prestop: shutdown failed: exit code 1, trigger http \(POST \/shutdown\), \d+ ms; error: flush-orders \[LAMEDUCK_ERR_TEST_FLUSH\]$/,
    )
    expect(hook.code).toBe(1)
    expect((await service.exited).code).toBe(1)
  })

  it('takes the port from PORT, and the token from --token-file (a mounted Secret, newline or not)', async () => {
    const { service, port } = await startService()
    const file = join(dir, 'token')
    writeFileSync(file, `${TOKEN}\n`)
    // A wrong token in the environment: the file wins.
    const hook = await prestop(['--token-file', file], { PORT: String(port), LAMEDUCK_SHUTDOWN_TOKEN: 'not-it' })
    expect(hook.stdout).toMatch(/^lameduck-prestop: shutdown ok: exit code 0/)
    expect(hook.code).toBe(0)
    expect((await service.exited).code).toBe(0)
  })

  it('a wrong or missing token: exit 3, says which, and nothing is triggered', async () => {
    const { service, port } = await startService()
    const wrong = await prestop(['--port', String(port)], { LAMEDUCK_SHUTDOWN_TOKEN: 'wrong-token-0123456789' })
    expect(wrong.code).toBe(3)
    expect(wrong.stderr).toBe(
      `lameduck-prestop: 127.0.0.1:${port}/shutdown answered 401: the token from LAMEDUCK_SHUTDOWN_TOKEN (from the ` +
        "environment) is not the service's — do the hook and the service read the same Secret (and the same version of it)?",
    )
    expect(wrong.stdout).toBe('')
    const none = await prestop(['--port', String(port)])
    expect(none.code).toBe(3)
    expect(none.stderr).toMatch(/answered 401: no token was sent — set LAMEDUCK_SHUTDOWN_TOKEN in the container's/)
    // The token is never printed.
    expect(wrong.stderr + none.stderr).not.toContain('wrong-token')
    // Still serving, still ready: the 401s started nothing.
    expect((await get('http', port, '/readyz')).status).toBe(200)
    expect(service.child.exitCode).toBe(null)
  })

  it('an endpoint that is not the shutdown endpoint: exit 3, with what it answered', async () => {
    const { port } = await startService()
    const hook = await prestop(['--port', String(port), '--path', '/stop'], { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN })
    expect(hook.code).toBe(3)
    expect(hook.stderr).toBe(`lameduck-prestop: 127.0.0.1:${port}/stop answered 200 with no shutdown report: hello`)
  })

  it('nothing listening: exit 3 at once, saying so', async () => {
    const server = createServer()
    const port = await listen(server)
    await new Promise((resolve) => server.close(resolve))
    const started = performance.now()
    const hook = await prestop(['--port', String(port)], { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN })
    expect(hook.code).toBe(3)
    expect(hook.stderr).toMatch(
      new RegExp(`^lameduck-prestop: nothing listens on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    )
    expect(performance.now() - started).toBeLessThan(10_000)
  })

  it('--timeout: gives up waiting with exit 3; the shutdown goes on and ends', async () => {
    const { service, port } = await startService({ SLOW_MS: '1500' })
    const hook = await prestop(['--port', String(port), '--timeout', '300ms'], { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN })
    expect(hook.code).toBe(3)
    expect(hook.stderr).toMatch(
      /no report from 127\.0\.0\.1:\d+\/shutdown within 300 ms \(--timeout\): the shutdown goes on/,
    )
    expect((await service.exited).code).toBe(0)
    expect(service.stdout).toContain('flush ran')
  })

  it('over a Unix socket, end to end: the admin server on a socket, no token, no port', async () => {
    const socketPath = join(dir, 'admin.sock')
    const { service, port } = await startService({
      MODE: 'socket',
      SOCKET_PATH: socketPath,
      LAMEDUCK_SHUTDOWN_TOKEN: undefined,
    })
    expect(existsSync(socketPath)).toBe(true)
    // The application port has no /shutdown in this mode: it is the application's own route.
    expect((await get('http', port, '/shutdown')).body).toBe('hello\n')
    const lost = await prestop(['--socket', socketPath, '--path', '/stop'])
    expect(lost.code).toBe(3)
    expect(lost.stderr).toMatch(
      /admin\.sock\/stop answered 404: no shutdown endpoint there — is it served on another port/,
    )
    const hook = await prestop(['--socket', socketPath])
    expect(hook.stdout).toMatch(
      /^lameduck-prestop: shutdown ok: exit code 0, trigger http \(POST \/shutdown\), \d+ ms$/,
    )
    expect(hook.code).toBe(0)
    expect((await service.exited).code).toBe(0)
    // No warning about the missing token: only the container reaches a socket.
    expect(jsonLines(service.stderr).filter((line) => line.event === 'warning')).toEqual([])
    // Closed in the report phase: the file went with it.
    expect(existsSync(socketPath)).toBe(false)
    const gone = await prestop(['--socket', socketPath])
    expect(gone.code).toBe(3)
    expect(gone.stderr).toMatch(/no socket at .*admin\.sock \(ENOENT\)/)
  })

  it('--https: a port that serves TLS, certificate not checked on loopback', async () => {
    const { createServer: createHttpsServer } = await import('node:https')
    const { tls } = await import('./helpers.js')
    const report = { trigger: 'http', reason: 'POST /shutdown', durationMs: 12, exitCode: 0, phases: [], errors: [] }
    let authorization: string | undefined
    const server = createHttpsServer(tls, (req, res) => {
      authorization = req.headers.authorization
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(report))
    })
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    )
    try {
      const hook = await prestop(['--port', String(port), '--https'], { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN })
      expect(hook.stdout).toBe('lameduck-prestop: shutdown ok: exit code 0, trigger http (POST /shutdown), 12 ms')
      expect(authorization).toBe(`Bearer ${TOKEN}`)
    } finally {
      server.close()
    }
  })
})

describe('lameduck-prestop: bad flags exit 2 with the usage, and send nothing', () => {
  const file = join(dir, 'empty-token')
  it.each([
    [['--prot', '3000'], /unknown option "--prot" — did you mean "--port"\?.*\[LAMEDUCK_ERR_UNKNOWN_OPTION\]/],
    [['--port', 'abc'], /--port: expected a port number from 1 to 65535; got "abc" \[LAMEDUCK_ERR_INVALID_OPTION\]/],
    [['--port', '70000'], /--port: expected a port number from 1 to 65535; got "70000"/],
    [['--port'], /--port needs a value: --port <n>/],
    [[], /no port: pass --port <n> \(the port that serves \/shutdown\), --socket <path>, or set PORT/],
    [['--socket', '/run/a.sock', '--port', '3000'], /--socket and --port exclude each other/],
    [
      ['--port', '3000', '--path', 'shutdown'],
      /--path: expected a path starting with "\/", without spaces or control characters; got "shutdown"/,
    ],
    [
      ['--port', '3000', '--path', '/shut down'],
      /--path: expected a path .*without spaces or control characters; got "\/shut down"/,
    ],
    [['--port', '3000', '--timeout', 'soon'], /--timeout: expected a duration above 0.*got "soon"/],
    [['--port', '3000', '--timeout', '0'], /--timeout: expected a duration above 0/],
    [['--port', '3000', '--https=yes'], /--https takes no value/],
    [['--port', '3000', 'extra'], /unexpected argument "extra": every option is a --flag/],
    [['--port', '3000', '--token-file', join(dir, 'missing')], /--token-file .*missing: cannot read it \(ENOENT\)/],
    [['--port', '3000', '--token-file', file], /--token-file .*empty-token: the file is empty/],
  ])('%j', async (args, message) => {
    writeFileSync(file, '\n')
    const hook = await prestop(args)
    expect(hook.code).toBe(2)
    expect(hook.stdout).toBe('')
    expect(hook.stderr).toMatch(message)
    expect(hook.stderr).toMatch(/^lameduck-prestop: /)
    expect(hook.stderr).toContain('\nUsage: lameduck-prestop [--port <n> | --socket <path>]')
  })

  it('a token the service could never accept is refused, without printing it', async () => {
    const hook = await prestop(['--port', '3000'], { LAMEDUCK_SHUTDOWN_TOKEN: 'sec ret-value' })
    expect(hook.code).toBe(2)
    expect(hook.stderr).toMatch(
      /the token from LAMEDUCK_SHUTDOWN_TOKEN \(from the environment\) has a space, control or non-ASCII character at index 3/,
    )
    expect(hook.stderr).not.toContain('ret-value')
  })

  it('--help: exit 0, every flag with its default', async () => {
    const hook = await prestop(['--help'])
    expect(hook.code).toBe(0)
    for (const flag of [
      '--port <n>',
      '--host <address>',
      '--socket <path>',
      '--path <path>',
      '--token-file <path>',
      '--timeout <duration>',
    ])
      expect(hook.stdout).toContain(flag)
    expect(hook.stdout).toContain('(default: $PORT)')
    expect(hook.stdout).toContain('(default: LAMEDUCK_SHUTDOWN_TOKEN)')
  })
})

describe('the kubelet getting 401 from /shutdown', () => {
  it('is logged by the service as LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED, naming lameduck-prestop', async () => {
    const { service, port } = await startService()
    const reply = await get('http', port, '/shutdown', { headers: { 'user-agent': 'kube-lifecycle/1.31' } })
    expect(reply.status).toBe(401)
    const warnings = await warningsOf(service, 1)
    expect(warnings).toMatchObject([
      {
        level: 'warn',
        code: 'LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED',
        userAgent: 'kube-lifecycle/1.31',
        authorization: 'missing',
        msg: expect.stringMatching(
          /scheme: HTTPS .* retries over HTTP WITHOUT the Authorization header.*lameduck-prestop/,
        ),
      },
    ])
    expect(service.child.exitCode).toBe(null)
  })
})
