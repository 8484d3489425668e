import { fileURLToPath } from 'node:url'
import { beforeAll, expect, it } from 'vitest'
import { spawnChild } from '../support/child.js'
import { DATABASE_URL, describeWith, REDIS_URL } from '../support/services.js'
import { loggedReport } from '../support/shutdown.js'
import { scanKeys, useRealStores } from '../support/stores.js'

const fixture = fileURLToPath(new URL('./fixtures/stateful-service.mjs', import.meta.url))
const ENTRIES = 100_000

await describeWith(['Redis', 'PostgreSQL'], 'nothing lost: Redis and PostgreSQL through a real SIGTERM', () => {
  {
    const stores = useRealStores('e2e')
    const { prefix, table } = stores

    beforeAll(async () => {
      // Someone else's lock under our prefix: it must survive our release.
      await stores.redis.set(`${prefix}:lock:foreign`, 'someone-else', 'PX', 60_000)
    })

    it('releases every lock, flushes 2 × 100,000 entries, completes the query, exits 0', async () => {
      const { redis, pool } = stores
      const service = spawnChild(process.execPath, [fixture], {
        env: { PREFIX: prefix, TABLE: table, REDIS_URL, DATABASE_URL, ENTRIES: String(ENTRIES), LOCKS: '100' },
      })
      await service.waitFor(/^ready:/, 60_000)
      expect(service.stdout).toContain(`ready: 100 locks, ${ENTRIES} + ${ENTRIES} dirty entries`)
      const held = await scanKeys(redis, `${prefix}:lock:job-*`)
      expect(held.filter((k) => !k.endsWith(':fence'))).toHaveLength(100)
      service.mark()
      service.child.kill('SIGTERM')
      const exit = await service.exited
      const report = loggedReport(service.stderr)
      expect(exit.code, JSON.stringify(report)).toBe(0)
      expect(exit.elapsedMs).toBeLessThan(29_000)
      expect(service.stdout).toContain('query done')

      const left = (await scanKeys(redis, `${prefix}:lock:*`)).filter((k) => !k.endsWith(':fence'))
      expect(left).toEqual([`${prefix}:lock:foreign`])
      expect(await redis.get(`${prefix}:lock:foreign`)).toBe('someone-else')
      expect((await scanKeys(redis, `${prefix}:cache:*`)).length).toBe(ENTRIES)
      expect(await redis.get(`${prefix}:cache:k99999`)).toBe('v99999')
      const { rows } = await pool.query(`SELECT count(*)::int AS n, max(v) FILTER (WHERE k = 'k42') AS v FROM ${table}`)
      expect(rows[0]).toEqual({ n: ENTRIES, v: '{"n":42}' })
      const adv = await pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted")
      expect(adv.rows[0].n).toBe(0)
    }, 90_000)
  }
})
