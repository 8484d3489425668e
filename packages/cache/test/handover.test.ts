import { CacheClosedError, createWriteBehind, type Sink, type UnflushedEntry } from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'

// Whatever ends the flush, every accepted entry not written reaches onUnflushed — once, each with why —
// and from then on writes are refused. (The exits — a watchdog, a second SIGINT — and a skip by a real
// SIGTERM are in test/faults/cache-handover.test.ts.)

const neverAnswers: Sink = { write: () => new Promise(() => {}) }

describe('handing over what was not written', () => {
  it('a skipped flush task: every entry, with TaskSkippedError; set, delete and setOrWait refused after', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 1200 })
    const handed: UnflushedEntry[][] = []
    const cache = createWriteBehind(shutdown, {
      sink: neverAnswers,
      flushIntervalMs: 0,
      maxEntries: 3,
      onUnflushed: (entries) => handed.push(entries),
    })
    cache.set('a', 1)
    cache.set('b', { two: 2 })
    cache.set('c', 'three')
    // The cache is full and the sink never answers: this writer waits for room.
    const waiting = cache.setOrWait('d', 4)
    // An earlier phase holds the loop past the deadline: no time is left for the flush.
    shutdown.addTask({
      name: 'cpu-bound',
      phase: 'drain',
      run: () => {
        const until = Date.now() + 1300
        while (Date.now() < until) {}
      },
    })
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'write-behind').outcome).toBe('skipped')
    expect(handed).toHaveLength(1)
    expect(handed[0]?.map(({ key, value }) => [key, value])).toEqual([
      ['a', '1'],
      ['b', '{"two":2}'],
      ['c', 'three'],
    ])
    expect(handed[0]?.every((e) => (e.error as { code?: string }).code === 'LAMEDUCK_ERR_TASK_SKIPPED')).toBe(true)
    await expect(waiting).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_CACHE_CLOSED' })
    expect(() => cache.set('late', 1)).toThrow(CacheClosedError)
    expect(() => cache.delete('a')).toThrow(/accepts no more writes: it had its shutdown flush skipped/)
    await expect(cache.setOrWait('later', 1)).rejects.toBeInstanceOf(CacheClosedError)
  })

  it('a sink that never answers (and ignores its signal): every entry once, with the reason, within the budget', async () => {
    const shutdown = testShutdown()
    const handed: UnflushedEntry[][] = []
    const cache = createWriteBehind(shutdown, {
      sink: neverAnswers,
      flushIntervalMs: 0,
      timeoutMs: 300,
      onUnflushed: (entries) => handed.push(entries),
    })
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i)
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(2000)
    expect(handed).toHaveLength(1)
    expect(handed[0]).toHaveLength(10)
    expect(handed[0]?.[0]?.error).toMatchObject({ code: 'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE' })
    expect(taskReport(report, 'write-behind').code).toBe('LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE')
    expect(() => cache.delete('k0')).toThrow(CacheClosedError)
  })

  it('writes made while the flush runs are still accepted and written; refused once it is done', async () => {
    const shutdown = testShutdown()
    const stored = new Map<string, string>()
    const sink: Sink = {
      write: async (batch) => {
        await new Promise((resolve) => setTimeout(resolve, 30))
        for (const { key, value } of batch) stored.set(key, value)
      },
    }
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, maxBatch: 1, concurrency: 1 })
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i)
    shutdown.on('taskStart', ({ name }) => {
      if (name === cache.name) setTimeout(() => cache.set('during', 'yes'), 40)
    })
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(stored.get('during')).toBe('yes')
    expect(() => cache.set('after', 1)).toThrow(CacheClosedError)
  })
})
