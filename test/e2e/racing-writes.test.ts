import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { jsonLines, spawnChild } from '../support/child.js'
import { DATABASE_URL, describeWith, REDIS_URL } from '../support/services.js'
import { useRealStores } from '../support/stores.js'

const fixture = fileURLToPath(new URL('./fixtures/racing-writes.mjs', import.meta.url))

await describeWith(['Redis', 'PostgreSQL'], 'writes racing the flush, SIGTERM during a background flush', () => {
  const stores = useRealStores('race')

  const cases = [
    { tailMs: 150, title: 'the application still writing 150 ms into the shutdown flush' },
    { tailMs: 0, title: 'the last writes just before the flush, a background write cut short and landing late' },
  ]
  for (const { tailMs, title } of cases) {
    it(`${title}: every value it was allowed to store is the one in Redis and in PostgreSQL`, async () => {
      const { prefix, table, redis, pool } = stores
      // Under the suite prefix, so that its cleanup removes them.
      const run = `${prefix}:${tailMs}`
      await pool.query(`TRUNCATE ${table}`)
      const service = spawnChild(process.execPath, [fixture], {
        env: { PREFIX: run, TABLE: table, REDIS_URL, DATABASE_URL, TAIL_MS: String(tailMs) },
      })
      await service.waitFor('ready', 20_000)
      await service.waitFor('first write', 20_000)
      // Writes have been racing background flushes for a moment; the signal lands in the middle of one.
      await new Promise((resolve) => setTimeout(resolve, 200))
      service.child.kill('SIGTERM')
      const exit = await service.exited
      const report = jsonLines(service.stderr).find((l) => l.event === 'report')?.report
      expect(exit.code, JSON.stringify(report)).toBe(0)
      const line = service.stdout.find((l) => l.startsWith('accepted '))
      const accepted = JSON.parse(line?.slice('accepted '.length) ?? '{}') as {
        postgres: Record<string, string>
        redis: Record<string, string>
        writes: number
        duringFlush: number
        refused: number
      }
      // The application kept writing through the drain delay and the drain (and into the flush when
      // asked), and once the flush was over both caches refused a write.
      expect(accepted.writes).toBeGreaterThan(5000)
      if (tailMs > 0) expect(accepted.duringFlush).toBeGreaterThan(100)
      expect(accepted.refused).toBe(2)
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
