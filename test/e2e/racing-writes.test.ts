import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { spawnChild } from '../support/child.js'
import { DATABASE_URL, describeWith, REDIS_URL } from '../support/services.js'
import { loggedReport } from '../support/shutdown.js'
import { useRealStores } from '../support/stores.js'

const fixture = fileURLToPath(new URL('./fixtures/racing-writes.mjs', import.meta.url))

await describeWith(['Redis', 'PostgreSQL'], 'writes racing the flush, SIGTERM during a background flush', () => {
  const stores = useRealStores('race')

  // Behaviour, not machine speed: each stage is asserted to have had writes at all, never how many a second.
  const cases = [
    { tailWrites: 1000, title: 'the application still making 1,000 writes into the shutdown flush' },
    { tailWrites: 0, title: 'the last writes just before the flush, a background write cut short and landing late' },
  ]
  for (const { tailWrites, title } of cases) {
    it(`${title}: every value it was allowed to store is the one in Redis and in PostgreSQL`, async () => {
      const { prefix, table, redis, pool } = stores
      // Under the suite prefix, so that its cleanup removes them.
      const run = `${prefix}:${tailWrites}`
      await pool.query(`TRUNCATE ${table}`)
      const service = spawnChild(process.execPath, [fixture], {
        env: { PREFIX: run, TABLE: table, REDIS_URL, DATABASE_URL, TAIL_WRITES: String(tailWrites) },
      })
      await service.waitFor('ready', 20_000)
      // Writes have been racing background flushes (several have landed); the signal lands amid them.
      await service.waitFor('raced', 20_000)
      service.child.kill('SIGTERM')
      const exit = await service.exited
      const report = loggedReport(service.stderr)
      expect(exit.code, JSON.stringify(report)).toBe(0)
      const line = service.stdout.find((l) => l.startsWith('accepted '))
      const accepted = JSON.parse(line?.slice('accepted '.length) ?? '{}') as {
        postgres: Record<string, string>
        redis: Record<string, string>
        writes: { running: number; readiness: number; drain: number; flush: number }
        refusedWhileWriting: number
        refused: number
      }
      const detail = JSON.stringify({ ...accepted, postgres: undefined, redis: undefined })
      // Every key written before the trigger, the application kept writing through the drain delay (and
      // into the flush when asked, or not at all), and once the flush was over both caches refused a write.
      expect(accepted.writes.running, detail).toBeGreaterThanOrEqual(2 * 1000)
      expect(accepted.writes.readiness, detail).toBeGreaterThanOrEqual(1)
      if (tailWrites > 0) expect(accepted.writes.flush, detail).toBeGreaterThanOrEqual(1)
      else expect(accepted.writes.flush, detail).toBe(0)
      expect(accepted.refused, detail).toBe(2)
      expect(Object.keys(accepted.postgres)).toHaveLength(1000)
      expect(Object.keys(accepted.redis)).toHaveLength(1000)

      const { rows } = await pool.query<{ k: string; v: string }>(`SELECT k, v FROM ${table}`)
      expect(Object.fromEntries(rows.map((r) => [r.k, r.v]))).toEqual(accepted.postgres)
      const keys = Object.keys(accepted.redis)
      const values = await redis.mget(...keys.map((k) => `${run}:cache:${k}`))
      expect(Object.fromEntries(keys.map((k, i) => [k, values[i]]))).toEqual(accepted.redis)
    }, 60_000)
  }
})
