import {
  CacheClosedError,
  CacheFlushIncompleteError,
  createWriteBehind,
  flushTask,
  InvalidCacheValueError,
  type Sink,
  type SinkEntry,
} from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'

/** An in-memory store behind the Sink interface, with knobs for latency and failures. */
class MemorySink implements Sink {
  readonly store = new Map<string, string>()
  readonly batches: number[] = []
  latencyMs = 0
  failNext = 0
  failAlways = false
  hang = false
  inFlight = 0
  maxInFlight = 0
  async write(batch: readonly SinkEntry[], signal: AbortSignal): Promise<void> {
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      if (this.hang) await new Promise(() => {})
      if (this.latencyMs) await delay(this.latencyMs)
      if (signal.aborted) throw signal.reason
      if (this.failAlways || this.failNext-- > 0) throw new Error('sink unavailable')
      this.batches.push(batch.length)
      for (const { key, value } of batch) this.store.set(key, value)
    } finally {
      this.inFlight--
    }
  }
}

describe('write-behind cache', () => {
  it('keeps values in memory; strings as-is, the rest as JSON; refuses what JSON cannot hold', async () => {
    const sink = new MemorySink()
    const cache = createWriteBehind<unknown>(testShutdown(), { sink, flushIntervalMs: 0 })
    cache.set('s', 'plain')
    cache.set('o', { a: 1 })
    cache.set('n', 42)
    expect(cache.get('o')).toEqual({ a: 1 })
    expect(cache.size).toBe(3)
    expect(cache.dirty).toBe(3)
    for (const bad of [undefined, () => 1, Symbol('x'), 10n]) {
      expect(() => cache.set('bad', bad)).toThrow(InvalidCacheValueError)
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => cache.set('cyclic', cyclic)).toThrow(
      /value\.self refers back to an object that contains it \(a cycle\)/,
    )
    expect(cache.has('bad')).toBe(false)
    expect(await cache.flush()).toEqual({ flushed: 3, left: 0, failing: 0 })
    expect(Object.fromEntries(sink.store)).toEqual({ s: 'plain', o: '{"a":1}', n: '42' })
    expect(cache.dirty).toBe(0)
  })

  it('flushes in the background in batches of at most maxBatch, a few at a time', async () => {
    const sink = new MemorySink()
    sink.latencyMs = 5
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 20, maxBatch: 100, concurrency: 3 })
    for (let i = 0; i < 1050; i++) cache.set(`k${i}`, i)
    while (cache.dirty > 0) await delay(10)
    expect(sink.store.size).toBe(1050)
    expect(Math.max(...sink.batches)).toBeLessThanOrEqual(100)
    expect(sink.maxInFlight).toBeLessThanOrEqual(3)
    cache.remove()
  })

  it('a delete drops the pending write', async () => {
    const sink = new MemorySink()
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0 })
    cache.set('a', 1)
    cache.set('b', 2)
    expect(cache.delete('a')).toBe(true)
    await cache.flush()
    expect([...sink.store.keys()]).toEqual(['b'])
  })

  it('an entry changed while its write is in flight stays dirty and is written again', async () => {
    const sink = new MemorySink()
    sink.latencyMs = 50
    const writes: string[] = []
    const recording: Sink = {
      write: async (batch, signal) => {
        for (const entry of batch) writes.push(entry.value)
        await sink.write(batch, signal)
      },
    }
    const cache = createWriteBehind(testShutdown(), { sink: recording, flushIntervalMs: 0 })
    cache.set('k', 'old')
    const flushing = cache.flush()
    await delay(10)
    cache.set('k', 'new')
    expect(await flushing).toEqual({ flushed: 2, left: 0, failing: 0 })
    expect(writes).toEqual(['old', 'new'])
    expect(sink.store.get('k')).toBe('new')
  })

  it('deleted and set again while its old value is being written: the new value waits for that write', async () => {
    const store = new Map<string, string>()
    const inFlight = new Set<string>()
    let overlaps = 0
    const sink: Sink = {
      write: async (batch) => {
        for (const { key } of batch) if (inFlight.has(key)) overlaps++
        for (const { key } of batch) inFlight.add(key)
        // The first value of 'k' is slow, so a second write of 'k' would overtake it.
        await delay(batch.some((e) => e.value === 'old') ? 80 : 5)
        for (const { key, value } of batch) {
          store.set(key, value)
          inFlight.delete(key)
        }
      },
    }
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0, maxBatch: 1, concurrency: 4 })
    cache.set('k', 'old')
    for (let i = 0; i < 6; i++) cache.set(`other${i}`, i)
    const flushing = cache.flush()
    await delay(10)
    cache.delete('k')
    cache.set('k', 'new')
    expect(await flushing).toEqual({ flushed: 8, left: 0, failing: 0 })
    expect(overlaps).toBe(0)
    expect(store.get('k')).toBe('new')
  })

  it('writers do not wait for each other: a slow batch does not hold the next ones back', async () => {
    const started: number[] = []
    const t0 = Date.now()
    let first = true
    const sink: Sink = {
      write: async () => {
        started.push(Date.now() - t0)
        const slow = first
        first = false
        await delay(slow ? 300 : 10)
      },
    }
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0, maxBatch: 10, concurrency: 2 })
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i)
    expect(await cache.flush()).toEqual({ flushed: 100, left: 0, failing: 0 })
    // Ten batches: the slow one on one writer, the other nine one after another on the second, all of them
    // started while the slow one is still in flight.
    expect(started).toHaveLength(10)
    expect(Math.max(...started)).toBeLessThan(250)
  })
})

describe('the shutdown flush', () => {
  it('writes everything, including writes made while it runs, then refuses writes', async () => {
    const shutdown = testShutdown()
    const sink = new MemorySink()
    sink.latencyMs = 20
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, maxBatch: 50 })
    for (let i = 0; i < 500; i++) cache.set(`k${i}`, i)
    // Twenty writes arriving while the flush runs (as from requests finishing during the shutdown).
    let racing = 0
    const writer = setInterval(() => {
      try {
        cache.set(`late${racing}`, racing)
        if (++racing === 20) clearInterval(writer)
      } catch (error) {
        expect(error).toBeInstanceOf(CacheClosedError)
        clearInterval(writer)
      }
    }, 5)
    const report = await shutdown.shutdown()
    clearInterval(writer)
    expect(report.exitCode).toBe(0)
    expect(racing).toBeGreaterThan(0)
    // Every write that was accepted reached the sink.
    expect(sink.store.size).toBe(500 + racing)
    expect(() => cache.set('after', 1)).toThrow(CacheClosedError)
    try {
      cache.set('after', 1)
    } catch (error) {
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_CACHE_CLOSED' })
    }
  })

  it('retries a failing sink within the budget and loses nothing', async () => {
    const shutdown = testShutdown()
    const sink = new MemorySink()
    sink.failNext = 3
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, retryDelayMs: 10 })
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(sink.store.size).toBe(100)
    expect(cache.stats()).toMatchObject({ flushed: 100, failedWrites: 3, dirty: 0 })
  })

  it('reports entries flushed and left when the sink keeps failing, and hands them to onUnflushed', async () => {
    const shutdown = testShutdown()
    const sink = new MemorySink()
    sink.failAlways = true
    const saved: SinkEntry[] = []
    createWriteBehind(shutdown, {
      sink,
      flushIntervalMs: 0,
      timeoutMs: 300,
      onUnflushed: (entries) => saved.push(...entries),
    }).set('k', { v: 1 })
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(1000)
    const task = taskReport(report, 'write-behind')
    expect(task).toMatchObject({ name: 'write-behind', outcome: 'error', code: 'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE' })
    expect(task.error).toMatch(/flushed 0 entries, 1 left unwritten .*sink unavailable/)
    expect(saved).toEqual([
      { key: 'k', value: '{"v":1}', error: expect.objectContaining({ message: 'sink unavailable' }) },
    ])
    expect(report.exitCode).toBe(1)
  })

  it('a sink that hangs and ignores its signal cannot hold the shutdown', async () => {
    const shutdown = testShutdown()
    const sink = new MemorySink()
    sink.hang = true
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, timeoutMs: 300, critical: false })
    cache.set('k', 1)
    let released = false
    shutdown.addTask({
      name: 'release-locks',
      phase: 'release',
      run: () => {
        released = true
      },
    })
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(released).toBe(true)
    expect(taskReport(report, 'write-behind').code).toBe('LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE')
    expect(report.exitCode).toBe(0)
  })

  it('a background write stuck on the sink does not hold the shutdown flush', async () => {
    const shutdown = testShutdown()
    const sink = new MemorySink()
    sink.hang = true
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 10, timeoutMs: 2000 })
    cache.set('k', 1)
    await delay(40)
    sink.hang = false
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(sink.store.get('k')).toBe('1')
  })

  it('a slow background write cut short by the shutdown can still land: it is waited for, never overtaken', async () => {
    const shutdown = testShutdown()
    const store = new Map<string, string>()
    const writes: string[] = []
    const sink: Sink = {
      write: async (batch) => {
        for (const { key, value } of batch) writes.push(`${key}=${value}`)
        // The first write is slow but alive: its connection still delivers it after the flush gave up.
        if (batch.some((e) => e.value === 'v1')) await delay(200)
        for (const { key, value } of batch) store.set(key, value)
      },
    }
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 10, timeoutMs: 3000 })
    cache.set('k', 'v1')
    cache.set('same', 'once')
    await delay(40) // the background write of k=v1 and same=once is in flight
    cache.set('k', 'v2')
    cache.set('other', 'x')
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    // v2 went out after v1 had landed, so v1 could not overwrite it; 'same' was written once, by the
    // background write that landed late, not again.
    expect(store.get('k')).toBe('v2')
    expect(writes.filter((w) => w.startsWith('k='))).toEqual(['k=v1', 'k=v2'])
    expect(writes.filter((w) => w.startsWith('same='))).toEqual(['same=once'])
    expect(store.get('other')).toBe('x')
    expect(cache.dirty).toBe(0)
  })

  it("an application's flush() stuck on the sink does not hold the shutdown flush either", async () => {
    const shutdown = testShutdown()
    const sink = new MemorySink()
    sink.hang = true
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, timeoutMs: 2000 })
    cache.set('k', 1)
    const stuck = cache.flush() // no signal: only the shutdown can stop it
    await delay(20)
    sink.hang = false
    cache.set('later', 2)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(taskReport(report, 'write-behind').outcome).toBe('ok')
    expect(Object.fromEntries(sink.store)).toEqual({ k: '1', later: '2' })
    expect(await stuck).toMatchObject({ flushed: 0 })
    expect(() => cache.set('after', 3)).toThrow(CacheClosedError)
  })

  it('validates options, and flushTask registers a flush-phase task', async () => {
    const shutdown = testShutdown()
    expect(() => createWriteBehind(shutdown, {} as never)).toThrow(/sink/)
    const sink = new MemorySink()
    expect(() => createWriteBehind(shutdown, { sink, maxBatch: 0 })).toThrow(/maxBatch/)
    expect(() => createWriteBehind(shutdown, { sink, flushIntervalMs: -1 })).toThrow(/flushIntervalMs/)
    let ran = false
    flushTask(
      shutdown,
      () => {
        ran = true
      },
      { name: 'own-buffer' },
    )
    const report = await shutdown.shutdown()
    expect(ran).toBe(true)
    expect(taskReport(report, 'own-buffer').phase).toBe('flush')
    expect(new CacheFlushIncompleteError('c', 1, 2).code).toBe('LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE')
  })
})
