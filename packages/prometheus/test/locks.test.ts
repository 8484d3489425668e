import { randomUUID } from 'node:crypto'
import { listenAdmin } from '@lameduck/http'
import { createAdvisoryLocks } from '@lameduck/pg'
import { instrument, metricsHandler } from '@lameduck/prometheus'
import { createLocks } from '@lameduck/redis'
import { Redis } from 'ioredis'
import pg from 'pg'
import { Registry } from 'prom-client'
import { afterEach, expect, it } from 'vitest'
import { DATABASE_URL, describeWith, REDIS_URL } from '../../../test/support/services.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { deleteKeys, scanKeys } from '../../../test/support/stores.js'

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function value(text: string, metric: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `))
  return line === undefined ? undefined : Number(line.slice(metric.length + 1))
}

await describeWith(['Redis', 'PostgreSQL'], 'lameduck_locks_held with the real lock adapters', () => {
  it('counts the locks of @lameduck/redis and @lameduck/pg (held(): the held locks) as documented', async () => {
    const shutdown = testShutdown()
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    const pool = new pg.Pool({ connectionString: DATABASE_URL })
    pool.on('error', () => {})
    const keyPrefix = `lameduck-test:${randomUUID()}:`
    cleanups.push(
      () => pool.end().catch(() => {}),
      () => redis.quit().catch(() => redis.disconnect()),
      // The fence counters stay after a release, by design (a fencing token never goes backwards); the test
      // knows nothing else will use its keys, so it deletes them.
      () => deleteKeys(redis, `${keyPrefix}*`),
    )
    const locks = createLocks(shutdown, redis, { keyPrefix })
    const advisory = createAdvisoryLocks(shutdown, pool)
    await locks.acquire('a', { ttlMs: 10_000 })
    await locks.acquire('b', { ttlMs: 10_000 })
    await locks.acquire('c', { ttlMs: 10_000 })
    const first = await advisory.acquire(`lameduck_prom_${randomUUID()}`)
    await advisory.acquire(`lameduck_prom_${randomUUID()}`)

    const registry = new Registry()
    instrument(shutdown, { registry, locks: { redis: locks, postgres: advisory } })
    const admin = await listenAdmin(shutdown, {
      port: 0,
      host: '127.0.0.1',
      token: 'admin-token-0123456789',
      handlers: [metricsHandler({ registry })],
    })
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${admin.port}/metrics`)
      expect(res.status).toBe(200)
      return res.text()
    }
    let text = await scrape()
    expect(value(text, 'lameduck_locks_held{store="redis"}')).toBe(3)
    expect(value(text, 'lameduck_locks_held{store="postgres"}')).toBe(2)

    expect(await first.release()).toBe('released')
    text = await scrape()
    expect(value(text, 'lameduck_locks_held{store="postgres"}')).toBe(1)

    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    text = await registry.metrics()
    expect(value(text, 'lameduck_locks_held{store="redis"}')).toBe(0)
    expect(value(text, 'lameduck_locks_held{store="postgres"}')).toBe(0)
    expect(await redis.exists(`${keyPrefix}a`, `${keyPrefix}b`, `${keyPrefix}c`)).toBe(0)
    expect((await scanKeys(redis, `${keyPrefix}*`)).sort()).toEqual(
      ['a:fence', 'b:fence', 'c:fence'].map((k) => keyPrefix + k),
    )
  })
})
