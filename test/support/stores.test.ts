// The real-store suites leave nothing behind even when a run of them was killed before its afterAll: the
// next run removes what it left, and nothing of a run alive beside it.
import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { describeWith } from './services.js'
import { scanKeys, sweepLeftovers, useRealStores } from './stores.js'

await describeWith(['Redis', 'PostgreSQL'], 'useRealStores', () => {
  const stores = useRealStores('sweep')

  it('removes the keys and table of a killed run of the same suite, not those of a live one, nor its own', async () => {
    const { redis, pool, prefix, table } = stores
    const killed = `lameduck-sweep-${randomUUID().slice(0, 8)}`
    const live = `lameduck-sweep-${randomUUID().slice(0, 8)}`
    const other = `lameduck-sweeper-${randomUUID().slice(0, 8)}`
    await redis.set(`${killed}:lock:job-1:fence`, '3')
    await redis.set(`${killed}:cache:k1`, 'v1')
    await redis.set(`${live}:alive`, 'pid', 'PX', 60_000)
    await redis.set(`${live}:lock:job-1:fence`, '4')
    await redis.set(`${other}:x`, 'y')
    await redis.set(`${prefix}:lock:job-1:fence`, '1')
    for (const name of [killed, live]) await pool.query(`CREATE TABLE ${name.replaceAll('-', '_')} (k text)`)
    try {
      const swept = await sweepLeftovers(redis, pool, 'sweep')
      expect(swept.keys.sort()).toEqual([`${killed}:cache:k1`, `${killed}:lock:job-1:fence`])
      expect(swept.tables).toEqual([killed.replaceAll('-', '_')])
      expect(await scanKeys(redis, `${killed}:*`)).toEqual([])
      expect(await redis.exists(`${live}:alive`, `${live}:lock:job-1:fence`, `${other}:x`)).toBe(3)
      expect(await redis.exists(`${prefix}:alive`, `${prefix}:lock:job-1:fence`)).toBe(2)
      const { rows } = await pool.query<{ t: string }>(
        'SELECT tablename AS t FROM pg_tables WHERE tablename = ANY($1)',
        [[table, live.replaceAll('-', '_'), killed.replaceAll('-', '_')]],
      )
      expect(rows.map((r) => r.t).sort()).toEqual([table, live.replaceAll('-', '_')].sort())
    } finally {
      await redis.del(`${live}:alive`, `${live}:lock:job-1:fence`, `${other}:x`)
      for (const name of [killed, live]) await pool.query(`DROP TABLE IF EXISTS ${name.replaceAll('-', '_')}`)
    }
  })
})
