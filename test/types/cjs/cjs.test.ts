import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The packages' CommonJS entries, as a CommonJS project sees them: their declarations checked by tsc
// (entries.cts under tsconfig.json, module commonjs + moduleResolution node10, and tsconfig.node16.json,
// through "exports"), and their code run by node (require.cjs). Against the built packages: `pnpm build` first.
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const packages = [
  'core',
  'http',
  'express',
  'fastify',
  'nestjs',
  'grpc',
  'cache',
  'redis',
  'etcd',
  'pg',
  'prometheus',
  'testkit',
  'ws',
  'socketio',
  'notify',
  'bullmq',
  'amqp',
  'nats',
  'pino',
  'otel',
]

function node(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { cwd: here('.'), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })))
}

describe('the CommonJS entries of the packages', () => {
  it('are built', () => {
    const missing = packages.filter((pkg) => !existsSync(here(`../../../packages/${pkg}/dist/cjs/index.d.ts`)))
    expect(missing, 'run `pnpm build` first').toEqual([])
  })

  for (const config of ['tsconfig.json', 'tsconfig.node16.json'])
    it(`type-check for a CommonJS project (${config})`, async () => {
      const { code, output } = await node([tsc, '-p', here(config), '--noEmit'])
      expect(output).toBe('')
      expect(code).toBe(0)
    }, 120_000)

  it('load with require(), @lameduck/core/adapter included, and work', async () => {
    const { code, output } = await node([here('require.cjs')])
    expect(output).toBe('ok\n')
    expect(code).toBe(0)
  })
})
