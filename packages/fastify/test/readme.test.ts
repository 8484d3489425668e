import { FASTIFY_DEFAULTS, PLUGIN_OPTIONS } from '@lameduck/fastify'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { expectProbeDefaults, msLiteral, readmeTables, taskCell } from '../../../test/support/adapter-contract.js'

// The plugin's options: the probes' (with HTTP_DEFAULTS.probes), the coordinator, drain and close (with
// FASTIFY_DEFAULTS.close): this keeps the README's table from drifting from either.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  plugin: '## `app.register(',
})
const table = tables.plugin

describe('README agrees with the code', () => {
  it('documents exactly the options the plugin accepts, each with a type', () => {
    expect([...table.keys()].sort()).toEqual([...PLUGIN_OPTIONS].sort())
    for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as the defaults objects have it', () => {
    expectProbeDefaults(table)
    expect(defaultOf('plugin', 'close')).toBe(taskCell(FASTIFY_DEFAULTS.close))
    for (const ms of [HTTP_DEFAULTS.keepAliveTimeoutMs, HTTP_DEFAULTS.headersTimeoutMs])
      expect(readme).toContain(`= ${msLiteral(ms)}`)
  })
})
