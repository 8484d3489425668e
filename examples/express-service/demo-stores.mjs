// What `pnpm demo` leaves in Redis and PostgreSQL: nothing. Each run gets a namespace of its own — Redis keys
// under `lameduck-demo:<run>:`, the table `lameduck_demo_<run>` — passed to both replicas, and removes it when
// it ends. A run that was killed cannot do that; the next one does, at its start: while a run is alive it
// keeps a liveness key (`lameduck-demo:<run>:alive`, 30 s TTL, renewed every 5 s), and whatever sits under
// `lameduck-demo:` without a live run's key is a leftover — a killed run's, or an older demo's with no run
// in its keys. Runs side by side (two terminals, parallel CI jobs on one Redis) never touch each other's.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'

const ROOT = 'lameduck-demo:'
const TABLES = 'lameduck_demo_'
const ALIVE_TTL_MS = 30_000
const RENEW_EVERY_MS = 5_000

/**
 * Connects (briefly bounded: the stores may be absent, then the demo uses an in-process store), claims a
 * namespace and sweeps the leftovers of earlier runs.
 */
export async function openDemoStores({ redisUrl, databaseUrl }) {
  const run = randomBytes(4).toString('hex')
  const prefix = `${ROOT}${run}:`
  const table = `${TABLES}${run}`
  const alive = `${prefix}alive`
  const redis = await connectRedis(redisUrl)
  const db = await connectPostgres(databaseUrl)
  let renew
  const swept = { keys: 0, tables: [] }
  if (redis) {
    // Claimed before anything is swept or written: a sweep running beside ours sees this run as alive.
    await redis.set(alive, String(process.pid), 'PX', ALIVE_TTL_MS)
    renew = setInterval(() => redis.pexpire(alive, ALIVE_TTL_MS).catch(() => {}), RENEW_EVERY_MS).unref()
    const owners = new Map()
    const isLive = async (owner) => {
      if (!owners.has(owner)) owners.set(owner, (await redis.exists(`${ROOT}${owner}:alive`)) === 1)
      return owners.get(owner)
    }
    const stale = []
    for (const key of await scan(redis, `${ROOT}*`))
      if (!(await isLive(key.slice(ROOT.length).split(':')[0]))) stale.push(key)
    swept.keys = await unlink(redis, stale)
    // Without Redis there is no telling a live run's table from a leftover: tables are only swept with it.
    if (db) {
      const { rows } = await db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'lameduck\\_demo\\_%'",
      )
      for (const { tablename } of rows) {
        if (await isLive(tablename.slice(TABLES.length))) continue
        await db.query(`DROP TABLE IF EXISTS "${tablename}"`)
        swept.tables.push(tablename)
      }
    }
  }

  return {
    run,
    /** For both replicas: server.mjs reads them (see config.mjs). */
    env: { KEY_PREFIX: prefix, PAGE_VIEWS_TABLE: table },
    swept,
    /** Removes this run's keys and table (the replicas are gone by then), then its liveness key. */
    async close() {
      clearInterval(renew)
      const removed = { keys: 0, tables: [] }
      try {
        if (db) {
          const { rowCount } = await db.query(
            `SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = $1`,
            [table],
          )
          if (rowCount > 0) {
            await db.query(`DROP TABLE IF EXISTS "${table}"`)
            removed.tables.push(table)
          }
        }
        if (redis) {
          const own = (await scan(redis, `${prefix}*`)).filter((key) => key !== alive)
          removed.keys = await unlink(redis, own)
          await redis.del(alive)
        }
      } finally {
        await db?.end().catch(() => {})
        redis?.disconnect()
      }
      return removed
    },
  }
}

async function connectRedis(url) {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return redis
  } catch {
    redis.disconnect()
    return undefined
  }
}

async function connectPostgres(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return client
  } catch {
    await client.end().catch(() => {})
    return undefined
  }
}

async function scan(redis, pattern) {
  const keys = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

async function unlink(redis, keys) {
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000))
  return keys.length
}
