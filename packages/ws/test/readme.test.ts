import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLOSE_OPTIONS, WS_DEFAULTS } from '@lameduck/ws'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { clientsOf, listen } from './helpers.js'

// Defaults live in WS_DEFAULTS and the option list the checks use: this keeps the README's table from
// drifting from either; and the README's snippet runs as written, as a user's service would.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  closeWebSockets: '## `closeWebSockets(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options closeWebSockets accepts, each with a type', () => {
    expect([...tables.closeWebSockets.keys()].sort()).toEqual([...CLOSE_OPTIONS].sort())
    for (const [option, cells] of tables.closeWebSockets) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults WS_DEFAULTS holds', () => {
    for (const key of CLOSE_OPTIONS) expect(defaultOf('closeWebSockets', key)).toContain(literal(WS_DEFAULTS[key]))
    expect(defaultOf('closeWebSockets', 'name')).toContain(literal(`${WS_DEFAULTS.name}-2`))
  })
})

const root = fileURLToPath(new URL('../../../', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('the README snippet, as written', () => {
  it('serves WebSockets, and at SIGTERM closes every one with 1012, spread over its 3 s, then exits 0', async () => {
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(snippet).toBeDefined()
    // A user's project: the snippet as server.mjs beside a node_modules holding the built packages and ws.
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-ws-readme-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
    for (const pkg of ['core', 'http', 'ws'])
      symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
    symlinkSync(realpathSync(join(root, 'packages/ws/node_modules/ws')), join(dir, 'node_modules/ws'), 'dir')
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
      let clients: Awaited<ReturnType<typeof clientsOf>> | undefined
      for (let i = 0; i < 100 && clients === undefined; i++)
        clients = await clientsOf(port, 20).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100))
          return undefined
        })
      expect(clients, output).toBeDefined()
      child.kill('SIGTERM')
      const closes = await Promise.all(clients!.map((c) => c.closed))
      for (const closed of closes) expect(closed.code, output).toBe(1012)
      const times = closes.map((c) => c.at)
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2000)
      expect(await exited, output).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  }, 30_000)
})
