import { CACHE_DEFAULTS, ENTRY_OVERHEAD_BYTES } from '@lameduck/cache'
import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { OPTION_NAMES } from '../src/options.js'

// Defaults live in CACHE_DEFAULTS; this keeps the README's option tables from drifting away from them and
// from the options the code accepts.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  createWriteBehind: '## `createWriteBehind(',
  flushTask: '## `flushTask(',
})

describe('README agrees with CACHE_DEFAULTS', () => {
  it('documents exactly the options each function accepts, each with a type', () => {
    expect([...tables.createWriteBehind.keys()].sort()).toEqual([...OPTION_NAMES].sort())
    expect([...tables.flushTask.keys()].sort()).toEqual([...TASK_OPTION_KEYS].sort())
    for (const [option, cells] of [...tables.createWriteBehind, ...tables.flushTask])
      expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as the defaults object has it', () => {
    for (const key of TASK_OPTION_KEYS) {
      expect(defaultOf('createWriteBehind', key), key).toContain(literal(CACHE_DEFAULTS.writeBehind[key]))
      expect(defaultOf('flushTask', key), key).toContain(literal(CACHE_DEFAULTS.flushTask[key]))
    }
    expect(defaultOf('createWriteBehind', 'name')).toContain(literal(`${CACHE_DEFAULTS.writeBehind.name}-2`))
    expect(defaultOf('flushTask', 'name')).toContain(literal(`${CACHE_DEFAULTS.flushTask.name}-2`))
    const { writeBehind, flushTask, ...own } = CACHE_DEFAULTS
    for (const [option, value] of Object.entries(own))
      expect(defaultOf('createWriteBehind', option), option).toContain(literal(value))
    expect(readme).toContain(`\`ENTRY_OVERHEAD_BYTES\`, ${ENTRY_OVERHEAD_BYTES}`)
  })
})
