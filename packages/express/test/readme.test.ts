import { readFileSync } from 'node:fs'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { expectProbeDefaults, msLiteral, readmeTable } from '../../../test/support/adapter-contract.js'
import { PROBE_OPTIONS } from '../../http/src/probes.js'

// lameduck()'s options are createProbes', with its defaults (HTTP_DEFAULTS.probes of @lameduck/http): this
// keeps the README's table from drifting from either.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const table = readmeTable(readme, '## `lameduck(')

describe('README agrees with the code', () => {
  it('documents exactly the options lameduck() accepts, each with a type', () => {
    expect([...table.keys()].sort()).toEqual([...PROBE_OPTIONS].sort())
    for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as HTTP_DEFAULTS.probes has it', () => {
    expectProbeDefaults(table)
    expect(readme).toContain(`server.keepAliveTimeout = ${msLiteral(HTTP_DEFAULTS.keepAliveTimeoutMs)}`)
    expect(readme).toContain(`server.headersTimeout = ${msLiteral(HTTP_DEFAULTS.headersTimeoutMs)}`)
  })
})
