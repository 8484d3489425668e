import {
  type CACHE_ERROR_CODES,
  type CACHE_WARNING_CODES,
  type CacheClosedError,
  type CacheErrorCode,
  type CacheFlushIncompleteError,
  type CacheFullError,
  type CacheWarningCode,
  createWriteBehind,
  type FlushResult,
  flushTask,
  type InvalidCacheValueError,
  type Sink,
  type WriteBehindCache,
  type WriteBehindStats,
} from '@lameduck/cache'
import { createShutdown, type LameduckErrorCode, type Registration } from '@lameduck/core'
import { describe, expectTypeOf, it } from 'vitest'

describe('public types of @lameduck/cache', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })
  const sink: Sink = { write: async () => {} }

  it('createWriteBehind returns the one handle shape: a Registration plus the cache', () => {
    const cache = createWriteBehind<number>(shutdown, { sink, name: 'views', phase: 'flush', timeoutMs: 1000 })
    expectTypeOf(cache).toEqualTypeOf<WriteBehindCache<number>>()
    expectTypeOf(cache).toExtend<Registration>()
    expectTypeOf(cache.name).toEqualTypeOf<string>()
    expectTypeOf(cache.remove).toEqualTypeOf<() => void>()
    expectTypeOf(cache[Symbol.dispose]).toEqualTypeOf<() => void>()
    expectTypeOf(cache.get).returns.toEqualTypeOf<number | undefined>()
    expectTypeOf(cache.set).parameter(1).toEqualTypeOf<number>()
    expectTypeOf(cache.flush).returns.resolves.toEqualTypeOf<FlushResult>()
    expectTypeOf(cache.stats()).toEqualTypeOf<WriteBehindStats>()
    // @ts-expect-error dispose() is remove() now
    cache.dispose()
    // @ts-expect-error the sink is required
    createWriteBehind(shutdown, {})
    // @ts-expect-error unknown phase
    createWriteBehind(shutdown, { sink, phase: 'later' })
  })

  it('flushTask: the coordinator, the function, the shared task options; returns a Registration', () => {
    expectTypeOf(flushTask(shutdown, async (signal) => void signal, { name: 'mine' })).toEqualTypeOf<Registration>()
    // @ts-expect-error the name is an option, not the second argument
    flushTask(shutdown, 'mine', () => {})
  })

  it('error and warning codes: closed catalogues; an unknown string is not a code', () => {
    expectTypeOf<(typeof CACHE_ERROR_CODES)[number]>().toEqualTypeOf<CacheErrorCode>()
    expectTypeOf<(typeof CACHE_WARNING_CODES)[number]>().toEqualTypeOf<CacheWarningCode>()
    expectTypeOf<'LAMEDUCK_ERR_CACHE_FULL'>().toExtend<CacheErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_CACHE_NOPE'>().not.toExtend<CacheErrorCode>()
    expectTypeOf<'not a code'>().not.toExtend<CacheErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_CACHE_ENTRIES_FAILING'>().toExtend<CacheWarningCode>()
    expectTypeOf<'LAMEDUCK_WARN_CACHE_NOPE'>().not.toExtend<CacheWarningCode>()
    expectTypeOf<CacheErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<CacheFullError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_CACHE_FULL'>()
    expectTypeOf<CacheClosedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_CACHE_CLOSED'>()
    expectTypeOf<InvalidCacheValueError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_CACHE_VALUE'>()
    expectTypeOf<CacheFlushIncompleteError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE'>()
  })
})
