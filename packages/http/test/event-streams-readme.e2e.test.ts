// The README's Server-Sent Events snippet runs as written, as a user's service would: its own process, real
// event streams read over HTTP, SIGTERM. (A service of its own: an e2e file, run one at a time.)
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './helpers.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const root = fileURLToPath(new URL('../../../', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

type Ended = Promise<{ body: string; at: number }>

/** Opens `/events`; resolves once the first event is in, with `ended`: the whole body and when it ended. */
function stream(port: number): Promise<{ ended: Ended }> {
  return new Promise((opened, failed) => {
    get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      const ended = new Promise<{ body: string; at: number }>((resolve, reject) => {
        res.once('end', () => resolve({ body, at: performance.now() }))
        res.once('error', reject)
      })
      res.on('data', (chunk: string) => {
        body += chunk
        if (body.includes('\n\n')) opened({ ended })
      })
    }).once('error', failed)
  })
}

describe('the README snippet of closeEventStreams, as written', () => {
  it('serves event streams, and at SIGTERM ends each with retry: 1000, spread over its 3 s, then exits 0', async () => {
    const section = readme.slice(readme.indexOf('## `closeEventStreams('))
    const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1]
    expect(snippet).toBeDefined()
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-sse-readme-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
    for (const pkg of ['core', 'http'])
      symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
    writeFileSync(join(dir, 'package.json'), '{ "name": "readme-service", "private": true }\n')
    writeFileSync(join(dir, 'server.mjs'), snippet as string)

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
    for (const s of [child.stdout, child.stderr]) s.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      let first: { ended: Ended } | undefined
      for (let i = 0; i < 100 && first === undefined; i++)
        first = await stream(port).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100))
          return undefined
        })
      expect(first, output).toBeDefined()
      const opened = [first as { ended: Ended }, ...(await Promise.all(Array.from({ length: 9 }, () => stream(port))))]
      child.kill('SIGTERM')
      const reads = await Promise.all(opened.map((s) => s.ended))
      for (const read of reads) expect(read.body, output).toMatch(/^(id: \d+\ndata: tick\n\n)+retry: 1000\n\n$/)
      const times = reads.map((r) => r.at)
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2000)
      expect(await exited, output).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  }, 30_000)
})
