import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { REDIS_DEFAULTS } from '@lameduck/redis'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { ACQUIRE_OPTIONS } from '../src/acquire.js'
import { LOCKS_OPTIONS } from '../src/locks.js'
import { SINK_OPTIONS } from '../src/sink.js'

// Defaults live in REDIS_DEFAULTS and the option lists the checks use; this keeps the README's option
// tables from drifting away from either.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  createLocks: '## `createLocks(',
  acquire: '### `locks.acquire(',
  closeRedis: '## `closeRedis(',
  redisSink: '## `redisSink(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options each function accepts', () => {
    expect([...tables.createLocks.keys()].sort()).toEqual([...LOCKS_OPTIONS].sort())
    expect([...tables.acquire.keys()].sort()).toEqual([...ACQUIRE_OPTIONS].sort())
    expect([...tables.closeRedis.keys()].sort()).toEqual([...TASK_OPTION_KEYS].sort())
    expect([...tables.redisSink.keys()].sort()).toEqual([...SINK_OPTIONS].sort())
  })

  it('states the defaults REDIS_DEFAULTS holds', () => {
    for (const key of TASK_OPTION_KEYS) {
      expect(defaultOf('createLocks', key)).toContain(literal(REDIS_DEFAULTS.locks[key]))
      expect(defaultOf('closeRedis', key)).toContain(literal(REDIS_DEFAULTS.quit[key]))
    }
    expect(defaultOf('createLocks', 'keyPrefix')).toBe(literal(REDIS_DEFAULTS.keyPrefix))
    expect(defaultOf('createLocks', 'batchSize')).toBe(literal(REDIS_DEFAULTS.batchSize))
    expect(defaultOf('createLocks', 'retryDelayMs')).toBe(literal(REDIS_DEFAULTS.retryDelayMs))
    expect(tables.createLocks.get('retryDelayMs')?.[3]).toContain(`jittered ±${REDIS_DEFAULTS.retryJitter * 100}%`)
    expect(defaultOf('acquire', 'waitMs')).toBe(literal(REDIS_DEFAULTS.waitMs))
    expect(defaultOf('acquire', 'autoExtend')).toBe(literal(REDIS_DEFAULTS.autoExtend))
    expect(tables.acquire.get('autoExtend')?.[3]).toContain(`every \`ttlMs / ${REDIS_DEFAULTS.autoExtendDivisor}\``)
    expect(defaultOf('redisSink', 'keyPrefix')).toBe(literal(REDIS_DEFAULTS.sinkKeyPrefix))
    expect(readme).toContain(`releases every lock still held, ${REDIS_DEFAULTS.batchSize} per pipeline`)
  })
})
