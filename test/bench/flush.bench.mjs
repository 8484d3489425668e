// Flushing 100,000 dirty entries with @lameduck/cache to Postgres and to Redis, as a ratio to the best raw
// rate measured in the same run (COPY; pipelined SET / MSET) and against a naive one-await-per-entry
// loop; and releasing 1,000 Redis locks at shutdown.
import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createWriteBehind } from '@lameduck/cache'
import { createShutdown } from '@lameduck/core'
import { pgSink } from '@lameduck/pg'
import { createLocks, redisSink } from '@lameduck/redis'
import { Redis } from 'ioredis'
import pg from 'pg'
import copyStreams from 'pg-copy-streams'
import { median } from './lib.mjs'

const N = Number(process.env.BENCH_ENTRIES ?? 100_000)
const NAIVE = Math.min(N, 5_000)
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  max: 8,
})
const id = randomUUID().slice(0, 8)
const entries = Array.from({ length: N }, (_, i) => [`k${i}`, `value-${i}-${'x'.repeat(32)}`])
const rate = (count, ms) => (count * 1000) / ms
const fmt = (r) => `${Math.round(r).toLocaleString('en')}/s`
const time = async (fn) => {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

// Every table made here, dropped at the end.
const tables = []
async function freshTable() {
  const table = `lameduck_bench_${id}_${Math.random().toString(36).slice(2, 8)}`
  await pool.query(`CREATE UNLOGGED TABLE ${table} (k text PRIMARY KEY, v text NOT NULL)`)
  tables.push(table)
  return table
}

async function lameduckFlush(sink, cacheOptions = {}) {
  const shutdown = createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0, gracePeriodMs: 120_000 })
  const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 0, timeoutMs: 100_000, ...cacheOptions })
  for (const [k, v] of entries) cache.set(k, v)
  const ms = await time(() => shutdown.shutdown())
  if (cache.dirty !== 0) throw new Error('flush incomplete')
  return ms
}

// Each method runs ROUNDS times, alternating, into a fresh table (fresh keys in Redis); the figures are the
// medians, so a slow moment of this noisy machine does not land on one method only.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

// Postgres. The best raw rate: COPY, 4 connections in parallel (as the cache writes 4 batches at a time),
// rows sent in chunks of 1,000.
async function copyRound() {
  const table = await freshTable()
  return time(async () => {
    const quarter = Math.ceil(N / 4)
    await Promise.all(
      [0, 1, 2, 3].map(async (part) => {
        const client = await pool.connect()
        try {
          const rows = entries.slice(part * quarter, (part + 1) * quarter)
          const chunks = []
          for (let i = 0; i < rows.length; i += 1000)
            chunks.push(
              rows
                .slice(i, i + 1000)
                .map(([k, v]) => `${k}\t${v}\n`)
                .join(''),
            )
          const stream = client.query(copyStreams.from(`COPY ${table} (k, v) FROM STDIN`))
          await pipeline(Readable.from(chunks), stream)
        } finally {
          client.release()
        }
      }),
    )
  })
}
// The same upsert the sink sends, hand-written: what the cache itself costs on top of it.
async function upsertRound() {
  const table = await freshTable()
  return time(async () => {
    const batches = []
    for (let i = 0; i < N; i += 1000) batches.push(entries.slice(i, i + 1000))
    for (let i = 0; i < batches.length; i += 4)
      await Promise.all(
        batches
          .slice(i, i + 4)
          .map((b) =>
            pool.query(
              `INSERT INTO ${table} (k, v) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`,
              [b.map(([k]) => k), b.map(([, v]) => v)],
            ),
          ),
      )
  })
}
async function pgSinkRound() {
  const table = await freshTable()
  return lameduckFlush(
    pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' }),
    JSON.parse(process.env.PG_CACHE ?? '{}'),
  )
}
const copyRuns = []
const upsertRuns = []
const pgRuns = []
for (let round = 0; round < ROUNDS; round++) {
  copyRuns.push(await copyRound())
  upsertRuns.push(await upsertRound())
  pgRuns.push(await pgSinkRound())
}
const [copyMs, upsertMs, pgMs] = [median(copyRuns), median(upsertRuns), median(pgRuns)]
const naiveTable = await freshTable()
const naivePgMs = await time(async () => {
  for (const [k, v] of entries.slice(0, NAIVE))
    await pool.query(`INSERT INTO ${naiveTable} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, [
      k,
      v,
    ])
})
for (const table of tables) await pool.query(`DROP TABLE ${table}`)

// Redis
const key = (p, k) => `lameduck-bench:${id}:${p}:${k}`
const setRuns = []
const msetRuns = []
const redisRuns = []
for (let round = 0; round < ROUNDS; round++) {
  setRuns.push(
    await time(async () => {
      for (let i = 0; i < N; i += 1000) {
        const p = redis.pipeline()
        for (const [k, v] of entries.slice(i, i + 1000)) p.set(key(`set${round}`, k), v)
        await p.exec()
      }
    }),
  )
  msetRuns.push(
    await time(async () => {
      const batches = []
      for (let i = 0; i < N; i += 1000)
        batches.push(entries.slice(i, i + 1000).flatMap(([k, v]) => [key(`mset${round}`, k), v]))
      await Promise.all(batches.map((b) => redis.mset(...b)))
    }),
  )
  redisRuns.push(await lameduckFlush(redisSink(redis, { keyPrefix: key(`lameduck${round}`, '') })))
}
const [setMs, msetMs, redisMs] = [median(setRuns), median(msetRuns), median(redisRuns)]
const naiveRedisMs = await time(async () => {
  for (const [k, v] of entries.slice(0, NAIVE)) await redis.set(key('naive', k), v)
})

// 1,000 locks
const lockShutdown = createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
const locks = createLocks(lockShutdown, redis, { keyPrefix: key('lock', '') })
for (let i = 0; i < 1000; i++) await locks.acquire(`l${i}`, { ttlMs: 60_000 })
const releaseMs = await time(() => lockShutdown.shutdown())
const naiveLocks = createLocks(createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 }), redis, {
  keyPrefix: key('lock2', ''),
})
const held = []
for (let i = 0; i < 1000; i++) held.push(await naiveLocks.acquire(`l${i}`, { ttlMs: 60_000 }))
const naiveReleaseMs = await time(async () => {
  for (const lock of held) await lock.release()
})

let cursor = '0'
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `lameduck-bench:${id}:*`, 'COUNT', 10_000)
  cursor = next
  if (keys.length) await redis.del(...keys)
} while (cursor !== '0')
await pool.end()
redis.disconnect()

const pgRaw = rate(N, copyMs)
const redisRaw = Math.max(rate(N, setMs), rate(N, msetMs))
console.log(
  `cache: flushing ${N.toLocaleString('en')} dirty entries at shutdown, medians of ${ROUNDS} alternating rounds (naive loops timed once on ${NAIVE.toLocaleString('en')})`,
)
console.log(`  Postgres  COPY (raw best)          ${fmt(pgRaw)}`)
console.log(
  `            hand-written upsert      ${fmt(rate(N, upsertMs))}   (the statement pgSink sends, 4 at a time)`,
)
console.log(
  `            lameduck pgSink          ${fmt(rate(N, pgMs))}   (${((rate(N, pgMs) / pgRaw) * 100).toFixed(0)}% of COPY, ${((rate(N, pgMs) / rate(N, upsertMs)) * 100).toFixed(0)}% of the hand-written upsert, ${(rate(N, pgMs) / rate(NAIVE, naivePgMs)).toFixed(0)}× naive)`,
)
console.log(`            naive await per entry    ${fmt(rate(NAIVE, naivePgMs))}`)
console.log(`  Redis     pipelined SET            ${fmt(rate(N, setMs))}`)
console.log(`            MSET batches             ${fmt(rate(N, msetMs))}`)
console.log(
  `            lameduck redisSink       ${fmt(rate(N, redisMs))}   (${((rate(N, redisMs) / redisRaw) * 100).toFixed(0)}% of raw best, ${(rate(N, redisMs) / rate(NAIVE, naiveRedisMs)).toFixed(0)}× naive)`,
)
console.log(`            naive await per SET      ${fmt(rate(NAIVE, naiveRedisMs))}`)
console.log(
  `  locks     release 1,000 at shutdown ${releaseMs.toFixed(0)} ms   (naive await per release: ${naiveReleaseMs.toFixed(0)} ms)`,
)
