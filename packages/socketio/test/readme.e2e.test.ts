// The README's snippet runs as written, as a user's service would: its own process, real socket.io clients
// over WebSocket and long-polling, SIGTERM. (A service of its own: an e2e file, run one at a time.)
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { type Client, client, listen, POLLING, WEBSOCKET } from './helpers.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const root = fileURLToPath(new URL('../../../', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('the README snippet, as written', () => {
  it('serves socket.io, and at SIGTERM tells every client to reconnect ("transport close"), spread over its 3 s, then exits 0', async () => {
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(snippet).toBeDefined()
    // A user's project: the snippet as server.mjs beside a node_modules holding the built packages and socket.io.
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-socketio-readme-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
    for (const [pkg, folder] of [
      ['core', 'core'],
      ['http', 'http'],
      ['socket.io', 'socketio'],
    ])
      symlinkSync(join(root, 'packages', folder as string), join(dir, 'node_modules/@lameduck', pkg as string), 'dir')
    symlinkSync(
      realpathSync(join(root, 'packages/socketio/node_modules/socket.io')),
      join(dir, 'node_modules/socket.io'),
      'dir',
    )
    writeFileSync(join(dir, 'package.json'), '{ "name": "readme-service", "private": true }\n')
    writeFileSync(join(dir, 'server.mjs'), snippet as string)

    // A port free a moment ago: the snippet listens on PORT.
    const probe = createServer()
    const port = await listen(probe)
    await new Promise((resolve) => probe.close(resolve))
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      LAMEDUCK_SHUTDOWN_TOKEN: 'readme-token-0123456789',
    }
    delete env.KUBERNETES_SERVICE_HOST
    const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      let first: Client | undefined
      for (let i = 0; i < 100 && first === undefined; i++)
        first = await client(port, WEBSOCKET).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100))
          return undefined
        })
      expect(first, output).toBeDefined()
      const clients = [
        first as Client,
        ...(await Promise.all(Array.from({ length: 9 }, () => client(port, WEBSOCKET)))),
        ...(await Promise.all(Array.from({ length: 10 }, () => client(port, POLLING)))),
      ]
      for (const c of clients) expect(await c.timeout(2000).emitWithAck('echo', 'hi')).toBe('hi')
      child.kill('SIGTERM')
      const gone = await Promise.all(clients.map((c) => c.gone))
      for (const seen of gone) expect(seen.reason, output).toBe('transport close')
      const times = gone.map((d) => d.at)
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2000)
      expect(await exited, output).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  }, 30_000)
})
