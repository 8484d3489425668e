import { NOTIFY_DEFAULTS, NOTIFY_OPTIONS } from '@lameduck/notify'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'

// Defaults live in NOTIFY_DEFAULTS and the option list the checks use: this keeps the README's table from
// drifting from either.
const { tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), { notify: '## `notify(' })

describe('README agrees with the code', () => {
  it('documents exactly the options notify accepts, each with a type', () => {
    expect([...tables.notify.keys()].sort()).toEqual([...NOTIFY_OPTIONS].sort())
    for (const [option, cells] of tables.notify) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults NOTIFY_DEFAULTS holds', () => {
    const { task } = NOTIFY_DEFAULTS
    for (const key of ['name', 'phase', 'timeoutMs', 'critical'] as const)
      expect(defaultOf('notify', key)).toContain(literal(task[key]))
    expect(defaultOf('notify', 'name')).toContain(literal(`${task.name}-2`))
    for (const key of ['method', 'idempotencyHeader', 'attempts', 'retryDelayMs', 'attemptTimeoutMs'] as const)
      expect(defaultOf('notify', key)).toContain(literal(NOTIFY_DEFAULTS[key]))
  })
})
