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

/** While a suite runs, `<prefix>:alive` exists: what is under a prefix without it was left by a killed run. */
const ALIVE_TTL_MS = 60_000
const RENEW_EVERY_MS = 10_000

/**
 * For a suite run against the real Redis and PostgreSQL (inside `describeWith`): connects before the
 * suite, removes what killed runs of the same suite left (see {@link sweepLeftovers}), creates its table,
 * and afterwards drops the table, deletes every key under its prefix and disconnects. The clients are there
 * once `beforeAll` has run.
 */
export function useRealStores(name: string): RealStores {
  const id = randomUUID().slice(0, 8)
  let redis: Redis | undefined
  let pool: pg.Pool | undefined
  let renew: NodeJS.Timeout | undefined
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
    // Claimed before sweeping: a run of the same suite beside this one sees it as alive.
    await redis.set(`${stores.prefix}:alive`, String(process.pid), 'PX', ALIVE_TTL_MS)
    const client = redis
    renew = setInterval(() => client.pexpire(`${stores.prefix}:alive`, ALIVE_TTL_MS).catch(() => {}), RENEW_EVERY_MS)
    renew.unref()
    await sweepLeftovers(redis, pool, name)
    await pool.query(`CREATE TABLE ${stores.table} (k text PRIMARY KEY, v text NOT NULL)`)
  })
  afterAll(async () => {
    clearInterval(renew)
    await pool?.query(`DROP TABLE IF EXISTS ${stores.table}`)
    if (redis) await deleteKeys(redis, `${stores.prefix}:*`)
    await pool?.end()
    redis?.disconnect()
  })
  return stores
}

/**
 * Removes what runs of suite `name` that were killed (no `afterAll`) left: the keys under
 * `lameduck-<name>-<id>:` and the tables `lameduck_<name>_<id>` of every `<id>` whose `…:alive` key is gone.
 * A run alive beside this one keeps its key, so its data is left alone. Resolves to what was removed.
 */
export async function sweepLeftovers(
  redis: Redis,
  pool: pg.Pool,
  name: string,
): Promise<{ keys: string[]; tables: string[] }> {
  const live = new Map<string, boolean>()
  const isLive = async (id: string) => {
    if (!live.has(id)) live.set(id, (await redis.exists(`lameduck-${name}-${id}:alive`)) === 1)
    return live.get(id) as boolean
  }
  const keys: string[] = []
  const head = `lameduck-${name}-`
  for (const key of await scanKeys(redis, `${head}*`)) {
    const id = key.slice(head.length).split(':')[0] as string
    if (/^[0-9a-f]{8}$/.test(id) && !(await isLive(id))) keys.push(key)
  }
  for (let i = 0; i < keys.length; i += 10_000) await redis.unlink(...keys.slice(i, i + 10_000))
  const tables: string[] = []
  const { rows } = await pool.query<{ t: string }>(
    "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1",
    [`lameduck\\_${name}\\_%`],
  )
  for (const { t } of rows) {
    const id = t.slice(`lameduck_${name}_`.length)
    if (!/^[0-9a-f]{8}$/.test(id) || (await isLive(id))) continue
    await pool.query(`DROP TABLE IF EXISTS "${t}"`)
    tables.push(t)
  }
  return { keys, tables }
}
