import { readFileSync } from 'node:fs'
import { CACHE_DEFAULTS, ENTRY_OVERHEAD_BYTES } from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { OPTION_NAMES } from '../src/options.js'

// Defaults live in CACHE_DEFAULTS; this keeps the README's options table from drifting away from them.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

const rows = readme
  .split('\n')
  .filter((line) => line.startsWith('|'))
  .map((line) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim()),
  )

function row(name: string): string[] {
  const cells = rows.find((r) => r[0] === `\`${name}\``)
  if (!cells) throw new Error(`README has no row for ${name}`)
  return cells
}

describe('README agrees with CACHE_DEFAULTS', () => {
  it('has a row, with a type, for every option createWriteBehind takes — and none it does not', () => {
    for (const option of OPTION_NAMES) expect(row(option)[1], option).toMatch(/`.+`/)
    const tableOptions = rows.filter((r) => r.length === 4 && /^`\w+`$/.test(r[0] as string)).map((r) => r[0])
    expect(tableOptions.sort()).toEqual(OPTION_NAMES.map((o) => `\`${o}\``).sort())
  })

  it('states each default as the defaults object has it', () => {
    for (const [option, value] of Object.entries(CACHE_DEFAULTS)) {
      if (option === 'critical') continue // same value, stated in the critical row
      expect(row(option)[2], option).toContain(`\`${value}\``)
    }
    expect(row('critical')[2]).toContain(`\`${CACHE_DEFAULTS.critical}\``)
    expect(readme).toContain(`\`ENTRY_OVERHEAD_BYTES\`, ${ENTRY_OVERHEAD_BYTES}`)
  })
})
