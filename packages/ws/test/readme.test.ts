import { CLOSE_OPTIONS, WS_DEFAULTS } from '@lameduck/ws'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { firstBlock, project, removeProjects, serve } from '../../../test/support/readme.js'
import { clientsOf } from './helpers.js'

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

describe('the README snippet, as written', () => {
  afterAll(removeProjects)

  it('serves WebSockets, and at SIGTERM closes every one with 1012, spread over its 3 s, then exits 0', async () => {
    // A user's project: the snippet as server.mjs beside a node_modules holding the built packages and ws.
    const dir = project({ 'server.mjs': firstBlock(readme, 'ts') }, { packages: ['ws'], modules: { ws: 'ws' } })
    const service = await serve(dir)
    try {
      const clients = await service.reach((port) => clientsOf(port, 20))
      expect(clients, service.output).toBeDefined()
      service.kill('SIGTERM')
      const closes = await Promise.all(clients!.map((c) => c.closed))
      for (const closed of closes) expect(closed.code, service.output).toBe(1012)
      const times = closes.map((c) => c.at)
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2000)
      expect(await service.exited, service.output).toBe(0)
    } finally {
      service.kill()
    }
  }, 30_000)
})
