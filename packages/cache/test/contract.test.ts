import { createRequire } from 'node:module'
import {
  CACHE_DEFAULTS,
  CacheClosedError,
  createWriteBehind,
  flushTask,
  type Sink,
  type SinkEntry,
} from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'
import { fastClock } from '../../../test/support/clock.js'
import { taskNames, taskReport, testShutdown } from '../../../test/support/shutdown.js'

// The kit's contract for both adapter functions of @lameduck/cache: one error code per mistake, the one
// handle shape, the one duplicate policy. The resource of createWriteBehind is its sink (one sink per
// cache), that of flushTask the function it registers.

// The CommonJS build (built first), as an application that requires the package would load it.
const cjs = createRequire(import.meta.url)('@lameduck/cache') as typeof import('@lameduck/cache')
const sink = (): Sink => ({ write: async () => {} })
/** The options as given, `null` included (spread, it would vanish). */
const withSink = (resource: object, options?: Record<string, unknown>) =>
  (options === null ? null : { sink: resource, flushIntervalMs: 0, ...options }) as never

describeAdapterContract('@lameduck/cache', [
  {
    where: 'createWriteBehind',
    defaults: CACHE_DEFAULTS.writeBehind,
    resource: sink,
    register: (shutdown, resource, options) => createWriteBehind(shutdown, withSink(resource, options)),
    registerCommonJs: (shutdown, resource) => cjs.createWriteBehind(shutdown, withSink(resource)),
    members: ['set', 'setOrWait', 'get', 'has', 'delete', 'size', 'dirty', 'flush', 'stats'],
    durations: { flushIntervalMs: {}, retryDelayMs: {}, maxRetryDelayMs: {} },
  },
  {
    where: 'flushTask',
    defaults: CACHE_DEFAULTS.flushTask,
    resource: () => () => {},
    register: (shutdown, resource, options) => flushTask(shutdown, resource as () => void, options as never),
    registerCommonJs: (shutdown, resource) => cjs.flushTask(shutdown, resource as () => void),
    members: [],
  },
])

describe('remove() of a cache', () => {
  it('unregisters its flush task and closes it for writes; what is dirty stays, for get() and flush()', async () => {
    const shutdown = testShutdown()
    const written: SinkEntry[] = []
    const recording: Sink = { write: async (batch) => void written.push(...batch) }
    const cache = createWriteBehind(shutdown, { sink: recording, flushIntervalMs: 0 })
    cache.set('k', 1)
    const waiting = createWriteBehind(shutdown, { sink: sink(), flushIntervalMs: 0, maxEntries: 1 })
    waiting.set('a', 1)
    const blocked = waiting.setOrWait('b', 2)
    cache.remove()
    waiting[Symbol.dispose]()
    await expect(blocked).rejects.toThrow(/was removed from its coordinator/)
    expect(() => cache.set('k', 2)).toThrow(CacheClosedError)
    expect(() => cache.delete('k')).toThrow(CacheClosedError)
    expect(cache.get('k')).toBe(1)
    expect(await cache.flush()).toEqual({ flushed: 1, left: 0, failing: 0 })
    expect(written).toMatchObject([{ key: 'k', value: '1' }])
    // The sink is free again: a new cache may take it (and the first name).
    expect(createWriteBehind(shutdown, { sink: recording, flushIntervalMs: 0 }).name).toBe('write-behind')
    const report = await shutdown.shutdown()
    expect(taskNames(report)).toEqual(['write-behind'])
  })

  it('`using` removes it at the end of the scope', async () => {
    const shutdown = testShutdown()
    {
      using cache = createWriteBehind(shutdown, { sink: sink(), flushIntervalMs: 0 })
      cache.set('k', 1)
    }
    expect(taskNames(await shutdown.shutdown())).toEqual([])
  })
})

describe('timing by the coordinator clock', () => {
  // Ten times faster than the wall clock: a budget of 30 s is 3 s of real time. Retries 2 s apart (on the
  // clock) fit in it only if the cache waits by the clock; by real timers they would take 6 s.
  it('retries an entry the sink refuses on the clock', async () => {
    const shutdown = testShutdown({ clock: fastClock(10), gracePeriodMs: 600_000 })
    let failures = 3
    const stored = new Map<string, string>()
    const cache = createWriteBehind(shutdown, {
      sink: {
        write: async (batch) => {
          if (failures-- > 0) throw new Error('sink unavailable')
          for (const { key, value } of batch) stored.set(key, value)
        },
      },
      flushIntervalMs: 0,
      retryDelayMs: 2_000,
      timeoutMs: 30_000,
    })
    // One entry, refused alone three times: retried on its own schedule, 2 s (on the clock) apart.
    cache.set('k', 1)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'write-behind')).toMatchObject({ outcome: 'ok' })
    expect(stored.get('k')).toBe('1')
    expect(cache.stats().failedWrites).toBe(3)
  })

  it('a sink that never recovers: the flush gives up at its stop time on the clock, with a partial result', async () => {
    const shutdown = testShutdown({ clock: fastClock(10), gracePeriodMs: 600_000 })
    const cache = createWriteBehind(shutdown, {
      sink: {
        write: async () => {
          throw new Error('sink unavailable')
        },
      },
      flushIntervalMs: 0,
      retryDelayMs: 1_000,
      timeoutMs: 20_000,
    })
    cache.set('k', 1)
    const report = await shutdown.shutdown()
    // Stopped at stopAt (before the deadline), so the task reports what it did instead of timing out.
    expect(taskReport(report, 'write-behind')).toMatchObject({
      outcome: 'error',
      code: 'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE',
    })
    expect(cache.stats().failedWrites).toBeGreaterThan(5)
  })
})
