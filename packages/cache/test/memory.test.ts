import {
  CacheFullError,
  createWriteBehind,
  ENTRY_OVERHEAD_BYTES,
  type Sink,
  type WriteBehindCache,
} from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'

// Bounded memory: a sink slower than the writers cannot grow the cache past its limits, and written
// values do not stay forever. (The 1,000,000-set figures are in test/bench/cache-memory.bench.mjs.)

/** A sink that takes `ms` per batch: much slower than a loop of set()s. */
function slowSink(ms: number, store = new Map<string, string>()): Sink & { store: Map<string, string> } {
  return {
    store,
    async write(batch) {
      await delay(ms)
      for (const { key, value } of batch) store.set(key, value)
    },
  }
}

describe('limits', () => {
  it('2,000 distinct writes against a slow sink: never more than maxEntries held, every value written', async () => {
    const sink = slowSink(10)
    const cache = createWriteBehind(testShutdown(), {
      sink,
      flushIntervalMs: 20,
      maxEntries: 50,
      maxBatch: 10,
      concurrency: 2,
    })
    let peak = 0
    for (let i = 0; i < 2000; i++) {
      await cache.setOrWait(`k${i}`, `value-${i}`)
      peak = Math.max(peak, cache.size)
    }
    while (cache.dirty > 0) await delay(10)
    expect(peak).toBeLessThanOrEqual(50)
    expect(sink.store.size).toBe(2000)
    expect(sink.store.get('k1999')).toBe('value-1999')
    // Written values were let go to make room, oldest first; the most recent ones are still there.
    expect(cache.size).toBeLessThanOrEqual(50)
    expect(cache.get('k1999')).toBe('value-1999')
    expect(cache.get('k0')).toBeUndefined()
    expect(cache.stats().evicted).toBeGreaterThanOrEqual(1950)
    cache.remove()
  })

  it('maxBytes bounds the estimate the same way, for large values', async () => {
    const sink = slowSink(10)
    const value = 'x'.repeat(1000)
    const perEntry = 'k0000'.length + value.length + ENTRY_OVERHEAD_BYTES
    const maxBytes = 20 * perEntry
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 20, maxBytes, maxBatch: 5 })
    let peak = 0
    for (let i = 0; i < 300; i++) {
      await cache.setOrWait(`k${String(i).padStart(4, '0')}`, value)
      peak = Math.max(peak, cache.stats().bytes)
    }
    expect(peak).toBeLessThanOrEqual(maxBytes)
    expect(cache.size).toBeLessThanOrEqual(20)
    while (cache.dirty > 0) await delay(10)
    expect(sink.store.size).toBe(300)
    cache.remove()
  })

  it('full of unwritten entries, set() throws CacheFullError at once — and a flush starts, whatever the interval', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let writes = 0
    const store = new Map<string, string>()
    const sink: Sink = {
      async write(batch) {
        writes++
        await gate
        for (const { key, value } of batch) store.set(key, value)
      },
    }
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0, maxEntries: 10 })
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i)
    let error: unknown
    try {
      cache.set('k10', 10)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CacheFullError)
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_CACHE_FULL', entries: 10, maxEntries: 10 })
    expect((error as Error).message).toMatch(/the sink is slower than the writers/)
    expect(cache.has('k10')).toBe(false)
    // An overwrite needs no room: a hot key keeps working.
    cache.set('k3', 33)
    expect(cache.get('k3')).toBe(33)
    expect(cache.stats().refusedFull).toBe(1)
    await delay(20)
    expect(writes).toBe(1)
    release()
    await waitFor(() => cache.dirty <= 1)
    cache.set('k10', 10)
    expect(cache.has('k10')).toBe(true)
  })

  it('setOrWait waits in order of arrival, and stops on its signal', async () => {
    let open = false
    const sink: Sink = {
      async write() {
        while (!open) await delay(5)
      },
    }
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0, maxEntries: 2, maxBatch: 1 })
    cache.set('a', 1)
    cache.set('b', 2)
    const order: string[] = []
    const first = cache.setOrWait('c', 3).then(() => order.push('c'))
    const controller = new AbortController()
    const abandoned = cache.setOrWait('x', 0, { signal: controller.signal })
    const second = cache.setOrWait('d', 4).then(() => order.push('d'))
    controller.abort(new Error('request cancelled'))
    await expect(abandoned).rejects.toThrow('request cancelled')
    open = true
    await Promise.all([first, second])
    expect(order).toEqual(['c', 'd'])
    expect(cache.has('x')).toBe(false)
    cache.remove()
  })

  it('a value larger than maxBytes alone is refused at once, by set() and by setOrWait()', async () => {
    const cache = createWriteBehind(testShutdown(), { sink: slowSink(1), flushIntervalMs: 0, maxBytes: 1000 })
    expect(() => cache.set('big', 'x'.repeat(2000))).toThrow(/this entry alone .* is larger than maxBytes/)
    await expect(cache.setOrWait('big', 'x'.repeat(2000))).rejects.toBeInstanceOf(CacheFullError)
  })
})

describe('letting written values go', () => {
  it('retainClean: false keeps nothing once written', async () => {
    const sink = slowSink(0)
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0, retainClean: false })
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, { i })
    expect(cache.size).toBe(100)
    await cache.flush()
    expect(cache.size).toBe(0)
    expect(cache.stats().bytes).toBe(0)
    expect(cache.get('k1')).toBeUndefined()
    expect(sink.store.size).toBe(100)
  })

  it('by default written values stay for get(), the least recently used going first when room is needed', async () => {
    const cache: WriteBehindCache<number> = createWriteBehind(testShutdown(), {
      sink: slowSink(0),
      flushIntervalMs: 0,
      maxEntries: 3,
    })
    cache.set('a', 1)
    cache.set('b', 2)
    cache.set('c', 3)
    await cache.flush()
    expect(cache.get('a')).toBe(1) // read: now the most recently used
    cache.set('d', 4) // needs room: b goes
    expect([...['a', 'b', 'c', 'd']].map((k) => cache.has(k))).toEqual([true, false, true, true])
    expect(cache.stats()).toMatchObject({ size: 3, evicted: 1 })
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  const stop = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > stop) throw new Error('condition not met in time')
    await delay(5)
  }
}

describe('bulk eviction', () => {
  it('lets written entries go down to 99 % of the limit, not all of them — with either limit unbounded', async () => {
    for (const limits of [{ maxEntries: 1000 }, { maxEntries: Number.POSITIVE_INFINITY, maxBytes: 1000 * 500 }]) {
      const cache = createWriteBehind(testShutdown(), { sink: slowSink(0), flushIntervalMs: 0, ...limits })
      let i = 0
      while (cache.stats().evicted === 0) {
        cache.set(`k${i++}`, 'v'.repeat(50))
        if (cache.dirty > 100) await cache.flush()
      }
      const { size, evicted } = cache.stats()
      // One eviction made room for ~1 % of the limit, and kept the other ~99 %.
      expect(evicted, JSON.stringify(limits)).toBeGreaterThanOrEqual(2)
      expect(size, JSON.stringify(limits)).toBeGreaterThan(0.97 * (i - 1))
      cache.remove()
    }
  })
})
