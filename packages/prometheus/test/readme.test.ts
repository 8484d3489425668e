import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { instrument, PROMETHEUS_DEFAULTS } from '@lameduck/prometheus'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { literal, readmeTable, readmeTables } from '../../../test/support/adapter-contract.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { INSTRUMENT_OPTIONS } from '../src/instrument.js'
import { HANDLER_OPTIONS } from '../src/metrics-handler.js'
import { PUSH_OPTIONS } from '../src/push.js'

// Defaults live in PROMETHEUS_DEFAULTS; this keeps the README's option tables from drifting away from them
// and from the options the code accepts.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  instrument: '## `instrument(',
  metricsHandler: '## `metricsHandler(',
  pushOnShutdown: '## `pushOnShutdown(',
})

describe('README agrees with PROMETHEUS_DEFAULTS', () => {
  it('documents exactly the options each function accepts, each with a type', () => {
    expect([...tables.instrument.keys()].sort()).toEqual([...INSTRUMENT_OPTIONS].sort())
    expect([...tables.metricsHandler.keys()].sort()).toEqual([...HANDLER_OPTIONS].sort())
    expect([...tables.pushOnShutdown.keys()].sort()).toEqual([...PUSH_OPTIONS].sort())
    for (const table of Object.values(tables))
      for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states each default as the defaults object has it', () => {
    const { push } = PROMETHEUS_DEFAULTS
    for (const key of [...TASK_OPTION_KEYS, 'method', 'retries', 'retryDelayMs'] as const)
      expect(defaultOf('pushOnShutdown', key), key).toContain(literal(push[key]))
    expect(defaultOf('pushOnShutdown', 'name')).toContain(literal(`${push.name}-2`))
    expect(defaultOf('instrument', 'prefix')).toBe(literal(PROMETHEUS_DEFAULTS.prefix))
    expect(defaultOf('metricsHandler', 'path')).toBe(literal(PROMETHEUS_DEFAULTS.metricsPath))
    expect(readme).toContain(`\`name\` (${literal(PROMETHEUS_DEFAULTS.instrumentName)})`)
  })

  it('lists every metric instrument registers', () => {
    const registry = new Registry()
    const source = { held: () => 0, connections: () => 0, inFlight: () => 0, stats: undefined }
    instrument(testShutdown(), {
      registry,
      http: { app: source },
      caches: [{ name: 'c', dirty: 0, stats: () => ({ flushed: 0, failedWrites: 0 }) }],
      locks: { redis: source },
    })
    const metrics = readmeTable(readme, '## Metrics')
    expect([...metrics.keys()].sort()).toEqual(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
    )
  })
})
