import { createShutdown, type LameduckErrorCode, type Registration } from '@lameduck/core'
import type { AdapterTaskDefaults } from '@lameduck/core/adapter'
import {
  closeEtcd,
  createLease,
  ETCD_DEFAULTS,
  type ETCD_ERROR_CODES,
  type EtcdErrorCode,
  type EtcdLeadership,
  type EtcdLease,
  type EtcdLock,
  type EtcdLockOptions,
  EtcdLockTimeoutError,
  type EtcdRegisteredKey,
  type EtcdWarningCode,
  type LeaseRevokeError,
  type ReleaseOutcome,
  type RevokeResult,
} from '@lameduck/etcd'
import type { AdvisoryLock, ReleaseOutcome as PgReleaseOutcome } from '@lameduck/pg'
import type { RedisLock, ReleaseOutcome as RedisReleaseOutcome } from '@lameduck/redis'
import { Etcd3 } from 'etcd3'
import { describe, expectTypeOf, it } from 'vitest'

describe('@lameduck/etcd public types', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })
  const etcd = new Etcd3({ hosts: '127.0.0.1:1' })

  it('every registration returns the one handle shape, plus its own members', () => {
    expectTypeOf(closeEtcd(shutdown, etcd)).toEqualTypeOf<Registration>()
    const lease = createLease(shutdown, etcd, {
      name: 'l',
      phase: 'release',
      timeoutMs: 1,
      critical: false,
      ttlSeconds: 5,
    })
    expectTypeOf(lease).toEqualTypeOf<EtcdLease>()
    expectTypeOf(lease).toExtend<Registration>()
    expectTypeOf(lease.revoke).returns.resolves.toEqualTypeOf<RevokeResult>()
    expectTypeOf(lease.id).returns.resolves.toBeString()
    expectTypeOf(lease.signal).toEqualTypeOf<AbortSignal | undefined>()
    // A namespace is a client too (its keys get its prefix)…
    createLease(shutdown, etcd.namespace('app/'))
    // …but cannot be closed.
    // @ts-expect-error closeEtcd takes the client itself
    closeEtcd(shutdown, etcd.namespace('app/'))
    // @ts-expect-error ttlMs is Redis's: etcd leases have whole seconds
    createLease(shutdown, etcd, { ttlMs: 10_000 })
    // @ts-expect-error the client comes second
    createLease(etcd, shutdown)
  })

  it('locks have the shape of the other lock adapters: release() resolves the shared outcomes, fence a number', async () => {
    const lease = createLease(shutdown, etcd)
    expectTypeOf(lease.held()).toEqualTypeOf<readonly EtcdLock[]>()
    // @ts-expect-error a snapshot to read, not to change
    lease.held().push(await lease.lock('k'))
    expectTypeOf(lease.lock).parameter(1).toEqualTypeOf<EtcdLockOptions | undefined>()
    expectTypeOf<EtcdLock['release']>().returns.resolves.toEqualTypeOf<ReleaseOutcome>()
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<'released' | 'lost'>()
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<PgReleaseOutcome>()
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<RedisReleaseOutcome>()
    expectTypeOf<Pick<EtcdLock, 'release' | 'fence' | 'key' | 'signal'>>().toEqualTypeOf<
      Pick<RedisLock, 'release' | 'fence' | 'key' | 'signal'>
    >()
    expectTypeOf<Pick<EtcdLock, 'release'>>().toEqualTypeOf<Pick<AdvisoryLock, 'release'>>()
    expectTypeOf<EtcdLock>().toExtend<AsyncDisposable>()
    expectTypeOf(lease.registrations()).toEqualTypeOf<readonly EtcdRegisteredKey[]>()
    expectTypeOf(lease.campaign).returns.resolves.toEqualTypeOf<EtcdLeadership>()
    expectTypeOf<EtcdLeadership['resign']>().returns.resolves.toEqualTypeOf<ReleaseOutcome>()
    expectTypeOf<EtcdLeadership['fence']>().toBeNumber()
  })

  it('defaults are the task defaults the kit takes', () => {
    expectTypeOf(ETCD_DEFAULTS.lease).toExtend<AdapterTaskDefaults>()
    expectTypeOf(ETCD_DEFAULTS.close).toExtend<AdapterTaskDefaults>()
  })

  it('error and warning codes: a closed catalogue', () => {
    expectTypeOf<(typeof ETCD_ERROR_CODES)[number]>().toEqualTypeOf<EtcdErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_ETCD_REVOKE_FAILED'>().toExtend<EtcdErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_LOCK_TIMEOUT'>().not.toExtend<EtcdErrorCode>()
    expectTypeOf<string>().not.toExtend<EtcdErrorCode>()
    expectTypeOf<EtcdErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<EtcdWarningCode>().toBeNever()
    expectTypeOf(new EtcdLockTimeoutError('k', 0).code).toEqualTypeOf<'LAMEDUCK_ERR_ETCD_LOCK_TIMEOUT'>()
    expectTypeOf<LeaseRevokeError['expiresBy']>().toBeNumber()
  })
})
