// Defaults live in SOCKETIO_DEFAULTS and the option list the checks use: this keeps the README's table from
// drifting from either. (The snippet runs as a service in readme.e2e.test.ts.)
import { CLOSE_OPTIONS, SOCKETIO_DEFAULTS } from '@lameduck/socket.io'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'

const { tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  closeSocketIo: '## `closeSocketIo(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options closeSocketIo accepts, each with a type', () => {
    expect([...tables.closeSocketIo.keys()].sort()).toEqual([...CLOSE_OPTIONS].sort())
    for (const [option, cells] of tables.closeSocketIo) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults SOCKETIO_DEFAULTS holds', () => {
    for (const key of CLOSE_OPTIONS) expect(defaultOf('closeSocketIo', key)).toContain(literal(SOCKETIO_DEFAULTS[key]))
    expect(defaultOf('closeSocketIo', 'name')).toContain(literal(`${SOCKETIO_DEFAULTS.name}-2`))
  })
})
