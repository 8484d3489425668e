import { createShutdown, type LameduckErrorCode, type Registration } from '@lameduck/core'
import type { AdapterTaskDefaults } from '@lameduck/core/adapter'
import type { AdvisoryLock, ReleaseOutcome as PgReleaseOutcome } from '@lameduck/pg'
import {
  closeRedis,
  createLocks,
  LockTimeoutError,
  REDIS_DEFAULTS,
  type REDIS_ERROR_CODES,
  type RedisAcquireOptions,
  type RedisErrorCode,
  type RedisLock,
  type RedisLocks,
  type RedisWarningCode,
  type ReleaseOutcome,
  type ReleaseSummary,
} from '@lameduck/redis'
import { Redis } from 'ioredis'
import { describe, expectTypeOf, it } from 'vitest'

describe('@lameduck/redis public types', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })
  const redis = new Redis({ lazyConnect: true })

  it('every registration returns the one handle shape, plus its own members', () => {
    expectTypeOf(closeRedis(shutdown, redis)).toEqualTypeOf<Registration>()
    const locks = createLocks(shutdown, redis, { name: 'locks', phase: 'release', timeoutMs: 1, critical: false })
    expectTypeOf(locks).toEqualTypeOf<RedisLocks>()
    expectTypeOf(locks).toExtend<Registration>()
    expectTypeOf(locks.name).toEqualTypeOf<string>()
    expectTypeOf(locks.remove).returns.toBeVoid()
    expectTypeOf(locks[Symbol.dispose]).returns.toBeVoid()
    expectTypeOf(locks.releaseAll).returns.resolves.toEqualTypeOf<ReleaseSummary>()
    // @ts-expect-error retryMs is pg's old name: the option is retryDelayMs
    createLocks(shutdown, redis, { retryMs: 10 })
    // @ts-expect-error the client comes second
    createLocks(redis, shutdown)
  })

  it('held() is a readonly array of the locks; release() resolves one of the shared outcomes', async () => {
    const locks = createLocks(shutdown, redis)
    expectTypeOf(locks.held()).toEqualTypeOf<readonly RedisLock[]>()
    // @ts-expect-error a snapshot to read, not to change
    locks.held().push(await locks.acquire('k', { ttlMs: 1 }))
    expectTypeOf(locks.acquire).parameter(1).toEqualTypeOf<RedisAcquireOptions>()
    expectTypeOf(locks.acquire).returns.resolves.toEqualTypeOf<RedisLock>()
    // @ts-expect-error ttlMs is required
    void locks.acquire('k', {})
    expectTypeOf<RedisLock['release']>().returns.resolves.toEqualTypeOf<ReleaseOutcome>()
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<'released' | 'lost'>()
    // One contract with @lameduck/pg: the same outcomes, and the same members where the locks are one idea.
    expectTypeOf<ReleaseOutcome>().toEqualTypeOf<PgReleaseOutcome>()
    expectTypeOf<Pick<RedisLock, 'release'>>().toEqualTypeOf<Pick<AdvisoryLock, 'release'>>()
    expectTypeOf<RedisLock>().toExtend<AsyncDisposable>()
  })

  it('defaults are the task defaults the kit takes', () => {
    expectTypeOf(REDIS_DEFAULTS.locks).toExtend<AdapterTaskDefaults>()
    expectTypeOf(REDIS_DEFAULTS.quit).toExtend<AdapterTaskDefaults>()
  })

  it('error and warning codes: a closed catalogue', () => {
    expectTypeOf<(typeof REDIS_ERROR_CODES)[number]>().toEqualTypeOf<RedisErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_LOCK_TIMEOUT'>().toExtend<RedisErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_LOCK_TIMEOUTS'>().not.toExtend<RedisErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_POOL_FORCED'>().not.toExtend<RedisErrorCode>()
    expectTypeOf<string>().not.toExtend<RedisErrorCode>()
    expectTypeOf<RedisErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<RedisWarningCode>().toBeNever()
    expectTypeOf(new LockTimeoutError('k', 0).code).toEqualTypeOf<'LAMEDUCK_ERR_LOCK_TIMEOUT'>()
  })
})
