import { readFileSync } from 'node:fs'
import { FASTIFY_DEFAULTS, PLUGIN_OPTIONS } from '@lameduck/fastify'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { readmeTable } from '../../../test/support/adapter-contract.js'

// The plugin's options: the probes' (with HTTP_DEFAULTS.probes), the coordinator, drain and close (with
// FASTIFY_DEFAULTS.close): this keeps the README's table from drifting from either.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const table = readmeTable(readme, '## `app.register(')

function defaultOf(option: string): string {
  const cells = table.get(option)
  if (!cells) throw new Error(`the README's plugin table has no row for ${option}`)
  return cells[2] ?? ''
}

describe('README agrees with the code', () => {
  it('documents exactly the options the plugin accepts, each with a type', () => {
    expect([...table.keys()].sort()).toEqual([...PLUGIN_OPTIONS].sort())
    for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as the defaults objects have it', () => {
    const { probes } = HTTP_DEFAULTS
    for (const path of Object.values(probes.paths)) expect(defaultOf('paths')).toContain(`\`${path}\``)
    expect(defaultOf('token')).toContain(`\`${probes.tokenEnv}\``)
    expect(defaultOf('insecure')).toContain(`\`${probes.insecure}\``)
    expect(table.get('token')?.[3]).toContain(`at least ${probes.minTokenLength} characters`)
    const { close } = FASTIFY_DEFAULTS
    expect(defaultOf('close')).toBe(
      `\`'${close.name}'\`, \`'${close.phase}'\`, \`${close.timeoutMs}\`, \`${close.critical}\``,
    )
    for (const ms of [HTTP_DEFAULTS.keepAliveTimeoutMs, HTTP_DEFAULTS.headersTimeoutMs])
      expect(readme).toContain(`= ${String(ms).replace(/\B(?=(\d{3})+$)/g, '_')}`)
  })
})
