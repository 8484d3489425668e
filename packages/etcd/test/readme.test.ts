import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { ETCD_DEFAULTS } from '@lameduck/etcd'
import { describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { CAMPAIGN_OPTIONS } from '../src/election.js'
import { LEASE_OPTIONS } from '../src/lease.js'
import { LOCK_OPTIONS } from '../src/lock.js'

// Defaults live in ETCD_DEFAULTS and the option lists the checks use; this keeps the README's option tables
// from drifting away from either.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  createLease: '## `createLease(',
  lock: '### `lease.lock(',
  campaign: '### `lease.campaign(',
  closeEtcd: '## `closeEtcd(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options each function accepts', () => {
    expect([...tables.createLease.keys()].sort()).toEqual([...LEASE_OPTIONS].sort())
    expect([...tables.lock.keys()].sort()).toEqual([...LOCK_OPTIONS].sort())
    expect([...tables.campaign.keys()].sort()).toEqual([...CAMPAIGN_OPTIONS].sort())
    expect([...tables.closeEtcd.keys()].sort()).toEqual([...TASK_OPTION_KEYS].sort())
  })

  it('states the defaults ETCD_DEFAULTS holds', () => {
    for (const key of TASK_OPTION_KEYS) {
      expect(defaultOf('createLease', key)).toContain(literal(ETCD_DEFAULTS.lease[key]))
      expect(defaultOf('closeEtcd', key)).toContain(literal(ETCD_DEFAULTS.close[key]))
    }
    for (const key of ['ttlSeconds', 'retryDelayMs', 'electionPollMs', 'requestTimeoutMs'] as const)
      expect(defaultOf('createLease', key)).toBe(literal(ETCD_DEFAULTS[key]))
    expect(tables.createLease.get('retryDelayMs')?.[3]).toContain(`jittered ±${ETCD_DEFAULTS.retryJitter * 100}%`)
    expect(defaultOf('lock', 'waitMs')).toBe(literal(ETCD_DEFAULTS.waitMs))
    const prose = readme.replace(/\s+/g, ' ')
    expect(prose).toContain(`every TTL / ${ETCD_DEFAULTS.keepAliveDivisor}`)
    expect(prose).toContain(`plus the ${ETCD_DEFAULTS.expiryCheckMs} ms of etcd's own check`)
    expect(prose).toContain(`\`${ETCD_DEFAULTS.electionPrefix}<election>/<lease id>\``)
  })
})
