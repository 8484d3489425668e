import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { jsonLines, spawnChild } from '../support/child.js'
import { DATABASE_URL, describeWith, REDIS_URL } from '../support/services.js'

const fixture = fileURLToPath(new URL('./fixtures/stateful-service.mjs', import.meta.url))
const ENTRIES = 100_000

await describeWith(['Redis', 'PostgreSQL'], 'nothing lost: Redis and PostgreSQL through a real SIGTERM', () => {
  {
    const prefix = `lameduck-e2e-${randomUUID().slice(0, 8)}`
    const table = `lameduck_e2e_${randomUUID().slice(0, 8)}`
    let redis: Redis
    let pool: pg.Pool

    beforeAll(async () => {
      redis = new Redis(REDIS_URL)
      pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
      await pool.query(`CREATE TABLE ${table} (k text PRIMARY KEY, v text NOT NULL)`)
      // Someone else's lock under our prefix: it must survive our release.
      await redis.set(`${prefix}:lock:foreign`, 'someone-else', 'PX', 60_000)
    })

    afterAll(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`)
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000)
        cursor = next
        if (keys.length) await redis.del(...keys)
      } while (cursor !== '0')
      await pool.end()
      redis.disconnect()
    })

    it('releases every lock, flushes 2 × 100,000 entries, completes the query, exits 0', async () => {
      const service = spawnChild(process.execPath, [fixture], {
        env: { PREFIX: prefix, TABLE: table, REDIS_URL, DATABASE_URL, ENTRIES: String(ENTRIES), LOCKS: '100' },
      })
      await service.waitFor(/^ready:/, 60_000)
      expect(service.stdout).toContain(`ready: 100 locks, ${ENTRIES} + ${ENTRIES} dirty entries`)
      const held = await countKeys(redis, `${prefix}:lock:job-*`)
      expect(held.filter((k) => !k.endsWith(':fence'))).toHaveLength(100)
      service.mark()
      service.child.kill('SIGTERM')
      const exit = await service.exited
      const report = jsonLines(service.stderr).find((l) => l.event === 'report')?.report
      expect(exit.code, JSON.stringify(report)).toBe(0)
      expect(exit.elapsedMs).toBeLessThan(29_000)
      expect(service.stdout).toContain('query done')

      const left = (await countKeys(redis, `${prefix}:lock:*`)).filter((k) => !k.endsWith(':fence'))
      expect(left).toEqual([`${prefix}:lock:foreign`])
      expect(await redis.get(`${prefix}:lock:foreign`)).toBe('someone-else')
      expect((await countKeys(redis, `${prefix}:cache:*`)).length).toBe(ENTRIES)
      expect(await redis.get(`${prefix}:cache:k99999`)).toBe('v99999')
      const { rows } = await pool.query(`SELECT count(*)::int AS n, max(v) FILTER (WHERE k = 'k42') AS v FROM ${table}`)
      expect(rows[0]).toEqual({ n: ENTRIES, v: '{"n":42}' })
      const adv = await pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted")
      expect(adv.rows[0].n).toBe(0)
    }, 90_000)
  }
})

async function countKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}
