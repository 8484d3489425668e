import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FLUSH_PINO_OPTIONS, PINO_DEFAULTS } from '@lameduck/pino'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { firstBlock, project, removeProjects, serve } from '../../../test/support/readme.js'

// Defaults live in PINO_DEFAULTS and the option list flushPino checks: this keeps the README's table from
// drifting from either; and the README's snippet runs as written, as a user's service would.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  flushPino: '## `flushPino(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options flushPino accepts, each with a type', () => {
    expect([...tables.flushPino.keys()].sort()).toEqual([...FLUSH_PINO_OPTIONS].sort())
    for (const [option, cells] of tables.flushPino) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults PINO_DEFAULTS holds', () => {
    for (const key of FLUSH_PINO_OPTIONS) expect(defaultOf('flushPino', key)).toContain(literal(PINO_DEFAULTS[key]))
    expect(defaultOf('flushPino', 'name')).toContain(literal(`${PINO_DEFAULTS.name}-2`))
    expect(readme).toContain(`\`terminateMs\` (${PINO_DEFAULTS.terminateMs} ms)`)
  })
})

describe('the README snippet, as written', () => {
  afterAll(removeProjects)

  it('serves, and at SIGTERM exits 0 with its requests, the report and the exit line written to LOG_FILE', async () => {
    const dir = project({ 'server.mjs': firstBlock(readme, 'ts') }, { packages: ['pino'], modules: { pino: 'pino' } })
    const logFile = join(dir, 'service.log')
    const service = await serve(dir, { env: { LOG_FILE: logFile } })
    try {
      const answered = await service.reach(async (port) => (await fetch(`http://127.0.0.1:${port}/hello`)).text())
      expect(answered, service.output).toBe('hello\n')
      service.kill('SIGTERM')
      expect(await service.exited, service.output).toBe(0)
      const lines = readFileSync(logFile, 'utf8').trim().split('\n')
      expect(lines.some((l) => l.includes('"url":"/hello"'))).toBe(true)
      expect(lines.some((l) => l.includes('"event":"report"'))).toBe(true)
      expect(lines.at(-1)).toContain('"event":"exit"')
    } finally {
      service.kill()
    }
  }, 30_000)
})
