import { createShutdown, type LameduckErrorCode, type LameduckWarningCode, type Registration } from '@lameduck/core'
import type { AdapterTaskDefaults } from '@lameduck/core/adapter'
import {
  type AdvisoryAcquireOptions,
  type AdvisoryLock,
  type AdvisoryLocks,
  closePool,
  createAdvisoryLocks,
  PG_DEFAULTS,
  type PG_ERROR_CODES,
  type PG_WARNING_CODES,
  type PgErrorCode,
  type PgWarningCode,
  type PoolCloser,
  type PoolCloseStats,
  PoolForcedError,
  type ReleaseOutcome,
} from '@lameduck/pg'
import type { RedisLock, ReleaseOutcome as RedisReleaseOutcome } from '@lameduck/redis'
import pg from 'pg'
import { describe, expectTypeOf, it } from 'vitest'

describe('@lameduck/pg public types', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })
  const pool = new pg.Pool()

  it('every registration returns the one handle shape, plus its own members', () => {
    const closer = closePool(shutdown, pool, { name: 'db', phase: 'close', timeoutMs: 1, critical: false })
    expectTypeOf(closer).toEqualTypeOf<PoolCloser>()
    expectTypeOf(closer).toExtend<Registration>()
    expectTypeOf(closer.pool).toEqualTypeOf<pg.Pool>()
    expectTypeOf(closer.stats).toEqualTypeOf<PoolCloseStats | undefined>()
    const locks = createAdvisoryLocks(shutdown, pool, { retryDelayMs: 20 })
    expectTypeOf(locks).toEqualTypeOf<AdvisoryLocks>()
    expectTypeOf(locks).toExtend<Registration>()
    expectTypeOf(locks[Symbol.dispose]).returns.toBeVoid()
    // @ts-expect-error retryMs was renamed retryDelayMs, as @lameduck/redis calls it
    createAdvisoryLocks(shutdown, pool, { retryMs: 20 })
    // @ts-expect-error the pool comes second
    closePool(pool, shutdown)
  })

  it('held() is a readonly array of the locks; release() resolves one of the shared outcomes', () => {
    const locks = createAdvisoryLocks(shutdown, pool)
    expectTypeOf(locks.held()).toEqualTypeOf<readonly AdvisoryLock[]>()
    expectTypeOf(locks.acquire).parameter(1).toEqualTypeOf<AdvisoryAcquireOptions | undefined>()
    expectTypeOf(locks.acquire).returns.resolves.toEqualTypeOf<AdvisoryLock>()
    expectTypeOf<AdvisoryLock['release']>().returns.resolves.toEqualTypeOf<ReleaseOutcome>()
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<'released' | 'lost'>()
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<RedisReleaseOutcome>()
    expectTypeOf<Pick<AdvisoryLock, 'key' | 'release'>['release']>().toEqualTypeOf<RedisLock['release']>()
    // @ts-expect-error release() no longer resolves a boolean
    expectTypeOf<AdvisoryLock['release']>().returns.resolves.toEqualTypeOf<boolean>()
  })

  it('defaults are the task defaults the kit takes', () => {
    expectTypeOf(PG_DEFAULTS.pool).toExtend<AdapterTaskDefaults>()
    expectTypeOf(PG_DEFAULTS.locks).toExtend<AdapterTaskDefaults>()
  })

  it('error and warning codes: a closed catalogue', () => {
    expectTypeOf<(typeof PG_ERROR_CODES)[number]>().toEqualTypeOf<PgErrorCode>()
    expectTypeOf<(typeof PG_WARNING_CODES)[number]>().toEqualTypeOf<PgWarningCode>()
    expectTypeOf<'LAMEDUCK_ERR_POOL_FORCED'>().toExtend<PgErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_POOL_FORCE'>().not.toExtend<PgErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_LOCK_TIMEOUT'>().not.toExtend<PgErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_TRANSACTION_POOLER'>().toExtend<PgWarningCode>()
    expectTypeOf<'LAMEDUCK_WARN_SOMETHING_ELSE'>().not.toExtend<PgWarningCode>()
    expectTypeOf<PgErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<PgWarningCode>().toExtend<LameduckWarningCode>()
    const stats = {} as PoolCloseStats
    expectTypeOf(new PoolForcedError(stats).code).toEqualTypeOf<'LAMEDUCK_ERR_POOL_FORCED'>()
  })
})
