import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { PG_DEFAULTS } from '@lameduck/pg'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { ACQUIRE_OPTIONS, LOCKS_OPTIONS } from '../src/advisory-locks.js'
import { SINK_OPTIONS } from '../src/sink.js'

// Defaults live in PG_DEFAULTS and the option lists the checks use; this keeps the README's option tables
// from drifting away from either.
const { tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  closePool: '## `closePool(',
  createAdvisoryLocks: '## `createAdvisoryLocks(',
  acquire: '### `locks.acquire(',
  pgSink: '## `pgSink(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options each function accepts', () => {
    expect([...tables.closePool.keys()].sort()).toEqual([...TASK_OPTION_KEYS].sort())
    expect([...tables.createAdvisoryLocks.keys()].sort()).toEqual([...LOCKS_OPTIONS].sort())
    expect([...tables.acquire.keys()].sort()).toEqual([...ACQUIRE_OPTIONS].sort())
    expect([...tables.pgSink.keys()].sort()).toEqual([...SINK_OPTIONS].sort())
  })

  it('states the defaults PG_DEFAULTS holds', () => {
    for (const key of TASK_OPTION_KEYS) {
      expect(defaultOf('closePool', key)).toContain(literal(PG_DEFAULTS.pool[key]))
      expect(defaultOf('createAdvisoryLocks', key)).toContain(literal(PG_DEFAULTS.locks[key]))
    }
    expect(defaultOf('closePool', 'name')).toContain(literal(`${PG_DEFAULTS.pool.name}-2`))
    expect(defaultOf('createAdvisoryLocks', 'retryDelayMs')).toBe(literal(PG_DEFAULTS.retryDelayMs))
    expect(tables.createAdvisoryLocks.get('retryDelayMs')?.[3]).toContain(`jittered ±${PG_DEFAULTS.retryJitter * 100}%`)
    expect(defaultOf('acquire', 'waitMs')).toBe(literal(PG_DEFAULTS.waitMs))
    expect(defaultOf('pgSink', 'valueType')).toBe(literal(PG_DEFAULTS.valueType))
  })
})
