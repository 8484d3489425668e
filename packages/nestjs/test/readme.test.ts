import { rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ShutdownReport } from '@lameduck/core'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { MODULE_OPTIONS, NESTJS_DEFAULTS } from '@lameduck/nestjs'
import ts from 'typescript'
import { afterEach, describe, expect, it } from 'vitest'
import { expectProbeDefaults, msLiteral, readmeTables, taskCell } from '../../../test/support/adapter-contract.js'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { delay, taskNames } from '../../../test/support/shutdown.js'

// The module's options: the probes' (with HTTP_DEFAULTS.probes), the coordinator, drain, and the two tasks
// (with NESTJS_DEFAULTS): this keeps the README's table from drifting from either. And the README's example,
// compiled as a Nest application is (decorators with their metadata) and run.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  forRoot: '## `LameduckModule.forRoot(',
})
const table = tables.forRoot

describe('README agrees with the code', () => {
  it('documents exactly the options forRoot accepts, each with a type', () => {
    expect([...table.keys()].sort()).toEqual([...MODULE_OPTIONS].sort())
    for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as the defaults objects have it', () => {
    expectProbeDefaults(table)
    expect(defaultOf('forRoot', 'beforeShutdown')).toBe(taskCell(NESTJS_DEFAULTS.beforeShutdown))
    expect(defaultOf('forRoot', 'close')).toBe(taskCell(NESTJS_DEFAULTS.close))
    for (const ms of [HTTP_DEFAULTS.keepAliveTimeoutMs, HTTP_DEFAULTS.headersTimeoutMs])
      expect(readme).toContain(`= ${msLiteral(ms)}`)
  })
})

// Inside the package, so that its imports resolve as they would in an application (the built packages).
const example = fileURLToPath(new URL('./.readme-example.mjs', import.meta.url))
let child: RunningChild | undefined
afterEach(() => {
  child?.dispose()
  rmSync(example, { force: true })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe("the README's example", () => {
  it('compiles as a Nest application does, serves, and shuts down through /shutdown with its own task and hooks', async () => {
    const source = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(source).toBeDefined()
    const { outputText, diagnostics } = ts.transpileModule(source as string, {
      reportDiagnostics: true,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      },
    })
    expect(diagnostics ?? []).toEqual([])
    writeFileSync(example, outputText)
    const token = 'readme-token-0123456789abcdef'
    const port = await freePort()
    child = spawnChild(process.execPath, [example], {
      env: { PORT: String(port), LAMEDUCK_SHUTDOWN_TOKEN: token },
    })
    const url = `http://127.0.0.1:${port}`
    let ready = 0
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = await fetch(`${url}/readyz`).then(
        (response) => response.status,
        () => 0,
      )
      if (ready !== 200) await delay(100)
    }
    expect(ready, child.stderr.join('\n')).toBe(200)
    expect(await (await fetch(url)).text()).toBe('hello')
    const reply = await fetch(`${url}/shutdown`, { headers: { authorization: `Bearer ${token}` } })
    expect(reply.status).toBe(200)
    const report = (await reply.json()) as ShutdownReport
    expect(report.exitCode).toBe(0)
    expect(taskNames(report)).toEqual(['nest-before-shutdown', 'http-drain', 'cache-flush', 'nest-close'])
    const exited = await child.exited
    expect(exited.code).toBe(0)
    expect(child.stdout).toContain('cache closed (preStop)')
  })
})
