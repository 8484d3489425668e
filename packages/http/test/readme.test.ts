import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { ADMIN_OPTIONS } from '../src/admin.js'
import { DRAIN_OPTIONS } from '../src/drain.js'
import { EVENT_STREAMS_OPTIONS } from '../src/event-streams.js'
import { PRESTOP_FLAGS } from '../src/prestop.js'
import { PROBE_OPTIONS } from '../src/probes.js'

// Defaults live in HTTP_DEFAULTS and the option lists in the checks the code makes; this keeps the README's
// option tables from drifting from either.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  drainHttpServer: '## `drainHttpServer(',
  createProbes: '### Options of `createProbes`',
  listenAdmin: '## `listenAdmin(',
  prestop: '## `lameduck-prestop`',
  closeEventStreams: '## `closeEventStreams(',
})
/** `65000` as the README's code writes it: `65_000`. */
const numeric = (value: number) => String(value).replace(/\B(?=(\d{3})+$)/g, '_')

describe('README agrees with the code', () => {
  it('documents exactly the options each function accepts, each with a type', () => {
    expect([...tables.drainHttpServer.keys()].sort()).toEqual([...DRAIN_OPTIONS].sort())
    expect([...tables.createProbes.keys()].sort()).toEqual([...PROBE_OPTIONS].sort())
    // listenAdmin: its own options, then one row for those of createProbes.
    const admin = [...tables.listenAdmin.keys()]
    expect(admin.at(-1)?.split('`, `').sort()).toEqual([...PROBE_OPTIONS].sort())
    expect([...admin.slice(0, -1), ...PROBE_OPTIONS].sort()).toEqual([...ADMIN_OPTIONS].sort())
    for (const table of [tables.drainHttpServer, tables.createProbes])
      for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as HTTP_DEFAULTS has it', () => {
    const { drain, admin, probes } = HTTP_DEFAULTS
    for (const key of TASK_OPTION_KEYS) {
      expect(defaultOf('drainHttpServer', key), key).toContain(literal(drain[key]))
      expect(defaultOf('listenAdmin', key), key).toContain(literal(admin[key]))
    }
    expect(defaultOf('drainHttpServer', 'name')).toContain(literal(`${drain.name}-2`))
    expect(defaultOf('listenAdmin', 'name')).toContain(literal(`${admin.name}-2`))
    expect(defaultOf('drainHttpServer', 'checkTimeouts')).toContain(literal(drain.checkTimeouts))
    expect(tables.drainHttpServer.get('checkTimeouts')?.[3]).toContain(
      `< ${HTTP_DEFAULTS.minKeepAliveTimeoutMs / 1000} s`,
    )
    expect(defaultOf('drainHttpServer', 'idleMs')).toContain('`drainDelayMs`')
    for (const path of Object.values(probes.paths)) expect(defaultOf('createProbes', 'paths')).toContain(`\`${path}\``)
    expect(defaultOf('createProbes', 'token')).toContain(`\`${probes.tokenEnv}\``)
    expect(defaultOf('createProbes', 'insecure')).toContain(literal(probes.insecure))
    expect(tables.createProbes.get('token')?.[3]).toContain(`at least ${probes.minTokenLength} characters`)
  })

  it('documents exactly the options of closeEventStreams, with the defaults HTTP_DEFAULTS.eventStreams holds', () => {
    expect([...tables.closeEventStreams.keys()].sort()).toEqual([...EVENT_STREAMS_OPTIONS].sort())
    for (const [option, cells] of tables.closeEventStreams) expect(cells[1], option).toMatch(/`.+`/)
    const defaults = HTTP_DEFAULTS.eventStreams
    for (const key of EVENT_STREAMS_OPTIONS)
      expect(defaultOf('closeEventStreams', key), key).toContain(literal(defaults[key]))
    expect(defaultOf('closeEventStreams', 'name')).toContain(literal(`${defaults.name}-2`))
  })

  it('documents every flag of lameduck-prestop, with its value and the default HTTP_DEFAULTS has', () => {
    const { prestop } = tables
    expect([...prestop.keys()]).toEqual(PRESTOP_FLAGS.map((flag) => `--${flag.name}`))
    for (const flag of PRESTOP_FLAGS)
      expect(prestop.get(`--${flag.name}`)?.[1], flag.name).toBe(flag.value === undefined ? '' : `\`${flag.value}\``)
    const { probes } = HTTP_DEFAULTS
    expect(defaultOf('prestop', '--port')).toBe(`env \`${HTTP_DEFAULTS.prestop.portEnv}\``)
    expect(defaultOf('prestop', '--host')).toBe(`\`${HTTP_DEFAULTS.prestop.host}\``)
    expect(defaultOf('prestop', '--path')).toBe(`\`${probes.paths.shutdown}\``)
    expect(defaultOf('prestop', '--token-env')).toBe(`\`${probes.tokenEnv}\``)
    expect(defaultOf('prestop', '--timeout')).toBe('none')
  })

  it('the numbers its code and prose give are the defaults', () => {
    expect(readme).toContain(`server.keepAliveTimeout = ${numeric(HTTP_DEFAULTS.keepAliveTimeoutMs)}`)
    expect(readme).toContain(`server.headersTimeout = ${numeric(HTTP_DEFAULTS.headersTimeoutMs)}`)
    expect(readme).toContain('`HTTP_DEFAULTS.keepAliveTimeoutMs` and `headersTimeoutMs`')
    expect(readme).toContain(`close the connection, \`${HTTP_DEFAULTS.probes.shutdownLingerMs}\` ms at most`)
  })
})
