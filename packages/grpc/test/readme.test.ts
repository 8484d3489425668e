import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GRPC_DEFAULTS, GRPC_DRAIN_OPTIONS } from '@lameduck/grpc'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { freePorts } from '../../testkit/src/ports.js'
import { check, closeAll, grpc, healthClient, OWN_CONNECTION, unary } from './helpers.js'

// Defaults live in GRPC_DEFAULTS and the option list in GRPC_DRAIN_OPTIONS; this keeps the README's table
// from drifting from either, and runs the README's example as it is written.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  drain: '## `drainGrpcServer(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options drainGrpcServer accepts, each with a type', () => {
    expect([...tables.drain.keys()].sort()).toEqual([...GRPC_DRAIN_OPTIONS].sort())
    for (const [option, cells] of tables.drain) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as GRPC_DEFAULTS has it', () => {
    const { drain } = GRPC_DEFAULTS
    for (const option of ['name', 'phase', 'timeoutMs', 'critical'] as const)
      expect(defaultOf('drain', option)).toBe(literal(drain[option]))
    expect(defaultOf('drain', 'health')).toBe(literal(GRPC_DEFAULTS.health))
  })
})

const root = fileURLToPath(new URL('../../../', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  closeAll()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function block(lang: string): string {
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme)
  if (!match) throw new Error(`the README has no \`\`\`${lang} block`)
  return match[1] as string
}

describe('the README example, as written', () => {
  it('serves Greeter and the health service (SERVING), and on SIGTERM drains and exits 0', async () => {
    // A user's project: the two files beside a node_modules with the packages, linked as pnpm does.
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-grpc-readme-'))
    dirs.push(dir)
    for (const scope of ['@lameduck', '@grpc']) mkdirSync(join(dir, 'node_modules', scope), { recursive: true })
    for (const pkg of ['core', 'grpc'])
      symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
    for (const pkg of ['grpc-js', 'proto-loader'])
      symlinkSync(join(root, 'packages/grpc/node_modules/@grpc', pkg), join(dir, 'node_modules/@grpc', pkg), 'dir')
    writeFileSync(join(dir, 'greeter.proto'), block('proto'))
    writeFileSync(join(dir, 'server.mjs'), block('js'))

    const [port] = (await freePorts(1)) as [number]
    const env = { ...process.env, PORT: String(port), KUBERNETES_SERVICE_HOST: undefined }
    const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      const probe = healthClient(port, { 'grpc.initial_reconnect_backoff_ms': 50 })
      const deadline = Date.now() + 15_000
      let status = await check(probe)
      while (status !== 'SERVING' && Date.now() < deadline) status = await check(probe)
      expect(status, stderr).toBe('SERVING')
      expect(await check(probe, 'hello.Greeter')).toBe('SERVING')
      const { hello } = grpc.loadPackageDefinition(
        (await import('@grpc/proto-loader')).loadSync(join(dir, 'greeter.proto')),
      ) as unknown as { hello: { Greeter: grpc.ServiceClientConstructor } }
      const greeter = new hello.Greeter(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), OWN_CONNECTION)
      const answer = await unary(greeter, 'SayHello', { name: 'readme' })
      greeter.close()
      expect(answer.messages).toEqual([{ message: 'hello readme' }])
      child.kill('SIGTERM')
      expect(await exited, stderr).toBe(0)
      expect(stderr).toMatch(/"event":"grpc.drained"/)
    } finally {
      child.kill('SIGKILL')
    }
  }, 30_000)
})
