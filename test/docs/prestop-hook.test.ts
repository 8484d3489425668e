import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type RunningChild, spawnChild } from '../support/child.js'
import { delay } from '../support/shutdown.js'

// Every exec preStop hook the docs show, run as written against a real service: the command's path is the
// package's bin (with the image's /app/node_modules/@lameduck/http standing for this package), its flags
// as they are, but for the port or socket, which are the test service's. The socket service is the http
// README's own snippet, with its socket path, port and drain delay swapped for the test's.
const root = fileURLToPath(new URL('../../', import.meta.url))
const PACKAGE = join(root, 'packages/http')
const IN_IMAGE = '/app/node_modules/@lameduck/http/bin/lameduck-prestop.js'
const SERVICE = join(PACKAGE, 'test/fixtures/prestop-service.mjs')
const TOKEN = 'docs-test-token-0123456789abcdef'
const DOCS = ['README.md', 'packages/http/README.md', 'docs/security.md', 'docs/kubernetes.md']

const dir = mkdtempSync(join(tmpdir(), 'lameduck-prestop-docs-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

interface Hook {
  doc: string
  command: string[]
  /** The container's `env` declares the token (or the snippet is a fragment with no `env`). */
  token: boolean
}

/** Every `exec.command` that runs lameduck-prestop, in every ```yaml block of the docs and in their prose. */
function hooks(): Hook[] {
  const found: Hook[] = []
  for (const doc of DOCS) {
    const text = readFileSync(join(root, doc), 'utf8')
    for (const [, block] of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      if (!block?.includes('lameduck-prestop')) continue
      const walk = (node: unknown, env: unknown): void => {
        if (node === null || typeof node !== 'object') return
        const record = node as Record<string, unknown>
        const here = 'env' in record ? record.env : env
        const command = (record.exec as { command?: unknown } | undefined)?.command
        if (Array.isArray(command) && command.some((part) => String(part).includes('lameduck-prestop'))) {
          const declared =
            Array.isArray(here) && here.some((e) => (e as { name?: string }).name === 'LAMEDUCK_SHUTDOWN_TOKEN')
          found.push({ doc, command: command.map(String), token: here === undefined || declared })
        }
        for (const value of Object.values(record)) walk(value, here)
      }
      walk(parse(dedent(block)), undefined)
    }
    // In the prose: `exec: { command: [...] }` — a fragment; the token comes from the environment.
    for (const [, list] of text.matchAll(/exec: \{ command: (\[[^\]]*\]) \}/g))
      found.push({ doc, command: JSON.parse(list as string), token: true })
  }
  return found
}

function dedent(block: string): string {
  const indent = Math.min(
    ...block
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => /^ */.exec(l)?.[0].length ?? 0),
  )
  return block
    .split('\n')
    .map((l) => l.slice(indent))
    .join('\n')
}

/** The http README's socket snippet, as a user's server.mjs beside a node_modules holding the built packages. */
function socketService(socketPath: string): string {
  const readme = readFileSync(join(PACKAGE, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### On a Unix socket'))
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  const swaps: [string, string][] = [
    ["'/run/lameduck/admin.sock'", JSON.stringify(socketPath)],
    ['server.listen(3000)', "server.listen(0, '127.0.0.1')"],
    ['drainDelayMs: 5000', 'drainDelayMs: 100'],
  ]
  let code = snippet
  for (const [from, to] of swaps) {
    expect(code.split(from).length, `the snippet has ${from} once`).toBe(2)
    code = code.replace(from, to)
  }
  const project = mkdtempSync(join(dir, 'project-'))
  mkdirSync(join(project, 'node_modules/@lameduck'), { recursive: true })
  for (const pkg of ['core', 'http'])
    symlinkSync(join(root, 'packages', pkg), join(project, 'node_modules/@lameduck', pkg), 'dir')
  writeFileSync(join(project, 'package.json'), '{ "name": "readme-service", "private": true, "type": "module" }\n')
  writeFileSync(join(project, 'server.mjs'), code)
  return join(project, 'server.mjs')
}

async function run(hook: Hook): Promise<void> {
  const args = hook.command.slice(2)
  const env: Record<string, string | undefined> = { LAMEDUCK_SHUTDOWN_TOKEN: undefined, PORT: undefined }
  let service: RunningChild
  if (args.includes('--socket')) {
    const socketPath = join(dir, `hook-${children.length}.sock`)
    service = spawnChild(process.execPath, [socketService(socketPath)], { env: { LAMEDUCK_SHUTDOWN_TOKEN: undefined } })
    children.push(service)
    for (let waited = 0; !existsSync(socketPath) && waited < 10_000; waited += 20) await delay(20)
    args[args.indexOf('--socket') + 1] = socketPath
  } else {
    service = spawnChild(process.execPath, [SERVICE], { env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN } })
    children.push(service)
    const ready = await service.waitFor(/^ready \d+$/)
    expect(args).toContain('--port')
    args[args.indexOf('--port') + 1] = ready.split(' ')[1] as string
    if (hook.token) env.LAMEDUCK_SHUTDOWN_TOKEN = TOKEN
  }
  const prestop = spawnChild(process.execPath, [join(PACKAGE, 'bin/lameduck-prestop.js'), ...args], { env })
  children.push(prestop)
  const { code } = await prestop.exited
  const output = `stdout: ${prestop.stdout.join('\n')}\nstderr: ${prestop.stderr.join('\n')}`
  expect(prestop.stdout.join('\n'), output).toMatch(/^lameduck-prestop: shutdown ok: exit code 0, trigger http/)
  expect(code, output).toBe(0)
  expect((await service.exited).code).toBe(0)
}

describe('the exec preStop hooks of the docs, as written', () => {
  const all = hooks()

  it('there are some in each doc, each runs node (or distroless node) on the package bin', () => {
    for (const doc of DOCS) expect(all.filter((hook) => hook.doc === doc).length, doc).toBeGreaterThan(0)
    const pkg = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'))
    expect(pkg.bin['lameduck-prestop']).toBe('./bin/lameduck-prestop.js')
    expect(pkg.files).toContain('bin')
    for (const hook of all) {
      expect(['node', '/nodejs/bin/node'], hook.doc).toContain(hook.command[0])
      expect(hook.command[1], hook.doc).toBe(IN_IMAGE)
    }
  })

  it.each(all.map((hook) => [`${hook.doc}: ${hook.command.slice(2).join(' ')}`, hook] as const))(
    '%s',
    async (_, hook) => {
      await run(hook)
    },
    30_000,
  )
})
