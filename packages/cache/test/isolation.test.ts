import { randomUUID } from 'node:crypto'
import { createWriteBehind, type Sink, type SinkEntry, type UnflushedEntry } from '@lameduck/cache'
import type { ShutdownWarning } from '@lameduck/core'
import { pgSink } from '@lameduck/pg'
import { redisSink } from '@lameduck/redis'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_URL, describeWith, REDIS_URL } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { deleteKeys } from '../../../test/support/stores.js'

// One entry the sink cannot take must not hold back the others: the batch is split, the rest written,
// the bad entry retried on its own schedule, counted and warned about, and at shutdown it alone reaches
// onUnflushed, with the sink's own error.

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const stop = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > stop) throw new Error('condition not met in time')
    await delay(10)
  }
}

await describeWith('Redis', 'a sink that refuses one key (real Redis behind it)', () => {
  const prefix = `lameduck-cache-isolation-${randomUUID().slice(0, 8)}:`
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL)
  })
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`)
    redis.disconnect()
  })

  it('writes every other entry while the pod runs, retries the refused one with backoff, and hands only it over', async () => {
    const shutdown = testShutdown()
    const warnings: ShutdownWarning[] = []
    shutdown.on('warning', (warning) => warnings.push(warning))
    const real = redisSink(redis, { keyPrefix: prefix })
    // The refused key's write attempts, by time.
    const attempts: number[] = []
    const refusing: Sink = {
      async write(batch: readonly SinkEntry[], signal: AbortSignal) {
        if (batch.some((entry) => entry.key === 'poison')) {
          attempts.push(Date.now())
          throw new Error('ERR value refused by policy')
        }
        await real.write(batch, signal)
      },
    }
    const unflushed: UnflushedEntry[] = []
    const cache = createWriteBehind(shutdown, {
      sink: refusing,
      flushIntervalMs: 20,
      maxBatch: 100,
      retryDelayMs: 50,
      maxRetryDelayMs: 400,
      timeoutMs: 1000,
      onUnflushed: (entries) => unflushed.push(...entries),
    })
    // The bad entry first, so that it sits in the first batch of every sweep.
    cache.set('poison', { secret: 'do-not-log-me' })
    for (let i = 0; i < 999; i++) cache.set(`k${i}`, `v${i}`)

    // While the pod runs: everything else reaches Redis.
    await until(async () => (await redis.exists(`${prefix}k0`, `${prefix}k500`, `${prefix}k998`)) === 3)
    await until(() => cache.dirty === 1)
    expect(cache.stats()).toMatchObject({ dirty: 1, failing: 1 })
    expect(await redis.get(`${prefix}k998`)).toBe('v998')
    expect(await redis.exists(`${prefix}poison`)).toBe(0)

    // Surfaced: one warning, naming how many entries — never the value.
    expect(warnings.map((w) => w.code)).toEqual(['LAMEDUCK_WARN_CACHE_ENTRIES_FAILING'])
    expect(warnings[0]?.details).toMatchObject({ entries: 1 })
    expect(JSON.stringify(warnings)).not.toContain('do-not-log-me')

    // Retried, but with backoff: over 1.5 s of sweeps every 20 ms (~75), a handful of attempts, spreading out.
    const since = attempts.length
    await delay(1500)
    const retries = attempts.slice(since)
    expect(retries.length).toBeGreaterThanOrEqual(2)
    expect(retries.length).toBeLessThanOrEqual(12)
    const gaps = retries.slice(1).map((t, i) => t - (retries[i] as number))
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(300)
    // Warned once, not at every retry.
    expect(warnings).toHaveLength(1)

    const report = await shutdown.shutdown()
    expect(unflushed).toEqual([
      {
        key: 'poison',
        value: '{"secret":"do-not-log-me"}',
        error: expect.objectContaining({ message: 'ERR value refused by policy' }),
      },
    ])
    const task = taskReport(report, 'write-behind')
    expect(task).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE' })
    expect(task.error).toMatch(/1 left unwritten \(1 of them refused by the sink when written alone\)/)
    expect(report.exitCode).toBe(1)
    expect(await redis.exists(`${prefix}poison`)).toBe(0)
    expect((await redis.mget(Array.from({ length: 999 }, (_, i) => `${prefix}k${i}`))).every((v) => v !== null)).toBe(
      true,
    )
  })

  it('a value set anew for a refused key gets a fresh chance, and is written', async () => {
    const shutdown = testShutdown()
    const real = redisSink(redis, { keyPrefix: `${prefix}fresh:` })
    const sink: Sink = {
      async write(batch, signal) {
        if (batch.some((entry) => entry.value === 'bad')) throw new Error('refused')
        await real.write(batch, signal)
      },
    }
    const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, maxBatch: 50 })
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i === 42 ? 'bad' : `v${i}`)
    expect(await cache.flush()).toEqual({ flushed: 99, left: 1, failing: 1 })
    cache.set('k42', 'good')
    expect(cache.stats().failing).toBe(0)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(await redis.get(`${prefix}fresh:k42`)).toBe('good')
  })
})

await describeWith('PostgreSQL', 'pgSink into a jsonb column given one text that is not JSON', () => {
  const table = `lameduck_cache_isolation_${randomUUID().slice(0, 8)}`
  let pool: pg.Pool
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
    await pool.query(`CREATE TABLE ${table} (k text PRIMARY KEY, v jsonb NOT NULL)`)
  })
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`)
    await pool.end()
  })

  it('PostgreSQL rejects the whole statement; the cache writes every other row and hands over the one, with its error', async () => {
    const shutdown = testShutdown()
    const unflushed: UnflushedEntry[] = []
    const cache = createWriteBehind<unknown>(shutdown, {
      sink: pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v', valueType: 'jsonb' }),
      flushIntervalMs: 0,
      maxBatch: 500,
      timeoutMs: 1000,
      onUnflushed: (entries) => unflushed.push(...entries),
    })
    for (let i = 0; i < 2000; i++) cache.set(`row${i}`, { n: i })
    // A string is stored as it is: in a jsonb column, plain text is invalid input.
    cache.set('row1234', 'plain text, not JSON')

    const report = await shutdown.shutdown()
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`)
    expect(rows[0].n).toBe(1999)
    const { rows: sample } = await pool.query(`SELECT v FROM ${table} WHERE k = 'row1999'`)
    expect(sample[0].v).toEqual({ n: 1999 })
    expect(unflushed).toHaveLength(1)
    expect(unflushed[0]).toMatchObject({ key: 'row1234', value: 'plain text, not JSON' })
    expect(unflushed[0]?.error).toMatchObject({ code: '22P02' }) // invalid_text_representation
    expect(taskReport(report, 'write-behind').code).toBe('LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE')
  })
})

describe('a sink that fails everything', () => {
  it('is not hammered by the splitting: a bounded number of writes per sweep, then backoff; nothing lost', async () => {
    const shutdown = testShutdown()
    let calls = 0
    const down: Sink = {
      write: async () => {
        calls++
        throw new Error('ECONNREFUSED')
      },
    }
    const unflushed: UnflushedEntry[] = []
    const cache = createWriteBehind(shutdown, {
      sink: down,
      flushIntervalMs: 0,
      maxBatch: 100,
      concurrency: 2,
      timeoutMs: 400,
      onUnflushed: (entries) => unflushed.push(...entries),
    })
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i)
    const result = await cache.flush()
    expect(result.left).toBe(1000)
    // Splitting gives up once writes keep failing with no success at all: log2(100) + concurrency + a few.
    expect(calls).toBeLessThanOrEqual(20)
    await shutdown.shutdown()
    expect(unflushed).toHaveLength(1000)
    expect(unflushed.every((entry) => entry.error instanceof Error)).toBe(true)
  })
})
