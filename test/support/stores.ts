import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { DATABASE_URL, REDIS_URL } from './services.js'

/** Every Redis key matching `pattern` (SCAN, never KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** Deletes every Redis key matching `pattern`. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  const keys = await scanKeys(redis, pattern)
  for (let i = 0; i < keys.length; i += 10_000) await redis.del(...keys.slice(i, i + 10_000))
}

export interface RealStores {
  /** A Redis key prefix of this suite's own: `lameduck-<name>-<id>`. */
  readonly prefix: string
  /** A table `(k text PRIMARY KEY, v text NOT NULL)` of this suite's own: `lameduck_<name>_<id>`. */
  readonly table: string
  readonly redis: Redis
  readonly pool: pg.Pool
}

/**
 * For a suite run against the real Redis and PostgreSQL (inside `describeWith`): connects before the
 * suite, creates its table, and afterwards drops the table, deletes every key under its prefix and
 * disconnects. The clients are there once `beforeAll` has run.
 */
export function useRealStores(name: string): RealStores {
  const id = randomUUID().slice(0, 8)
  let redis: Redis | undefined
  let pool: pg.Pool | undefined
  const stores: RealStores = {
    prefix: `lameduck-${name}-${id}`,
    table: `lameduck_${name}_${id}`,
    get redis() {
      if (!redis) throw new Error('useRealStores: Redis is connected in beforeAll')
      return redis
    },
    get pool() {
      if (!pool) throw new Error('useRealStores: the pool is created in beforeAll')
      return pool
    },
  }
  beforeAll(async () => {
    redis = new Redis(REDIS_URL)
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
    await pool.query(`CREATE TABLE ${stores.table} (k text PRIMARY KEY, v text NOT NULL)`)
  })
  afterAll(async () => {
    await pool?.query(`DROP TABLE IF EXISTS ${stores.table}`)
    if (redis) await deleteKeys(redis, `${stores.prefix}:*`)
    await pool?.end()
    redis?.disconnect()
  })
  return stores
}
