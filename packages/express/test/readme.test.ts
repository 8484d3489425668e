import { readFileSync } from 'node:fs'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { readmeTable } from '../../../test/support/adapter-contract.js'
import { PROBE_OPTIONS } from '../../http/src/probes.js'

// lameduck()'s options are createProbes', with its defaults (HTTP_DEFAULTS.probes of @lameduck/http): this
// keeps the README's table from drifting from either.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const table = readmeTable(readme, '## `lameduck(')

function defaultOf(option: string): string {
  const cells = table.get(option)
  if (!cells) throw new Error(`the README's lameduck table has no row for ${option}`)
  return cells[2] ?? ''
}

describe('README agrees with the code', () => {
  it('documents exactly the options lameduck() accepts, each with a type', () => {
    expect([...table.keys()].sort()).toEqual([...PROBE_OPTIONS].sort())
    for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as HTTP_DEFAULTS.probes has it', () => {
    const { probes } = HTTP_DEFAULTS
    for (const path of Object.values(probes.paths)) expect(defaultOf('paths')).toContain(`\`${path}\``)
    expect(defaultOf('token')).toContain(`\`${probes.tokenEnv}\``)
    expect(defaultOf('insecure')).toContain(`\`${probes.insecure}\``)
    expect(table.get('token')?.[3]).toContain(`at least ${probes.minTokenLength} characters`)
    expect(readme).toContain(
      `server.keepAliveTimeout = ${String(HTTP_DEFAULTS.keepAliveTimeoutMs).replace(/\B(?=(\d{3})+$)/g, '_')}`,
    )
    expect(readme).toContain(
      `server.headersTimeout = ${String(HTTP_DEFAULTS.headersTimeoutMs).replace(/\B(?=(\d{3})+$)/g, '_')}`,
    )
  })
})
