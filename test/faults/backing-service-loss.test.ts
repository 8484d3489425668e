import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { DATABASE_URL, describeWith, REDIS_URL } from '../support/services.js'
import { allTasks, taskReport } from '../support/shutdown.js'
import { deleteKeys, scanKeys } from '../support/stores.js'
import { type FaultProxy, startProxy } from './proxy.js'
import { killChildrenAfterEach, reportOf, spawnFixture } from './support.js'

// Redis or PostgreSQL gone in the middle of the flush. The real services keep running for everyone
// else: the fixture reaches them through TCP proxies started here, and it is a proxy that dies (every
// connection destroyed, nothing accepted any more) or freezes (connections open, nothing forwarded).
// The process must still exit before its deadline, non-zero, with the failing tasks named.
const GRACE_MS = 7000
const ENTRIES = 200

killChildrenAfterEach()

await describeWith(['Redis', 'PostgreSQL'], 'a backing service lost mid-shutdown', () => {
  const prefix = `lameduck-faults-${randomUUID().slice(0, 8)}`
  const table = `lameduck_faults_${randomUUID().slice(0, 8)}`
  const redisTarget = new URL(REDIS_URL)
  const pgTarget = new URL(DATABASE_URL)
  let redis: Redis
  let pool: pg.Pool
  let proxies: { redis: FaultProxy; pg: FaultProxy }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL)
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
    await pool.query(`CREATE TABLE ${table} (k text PRIMARY KEY, v text NOT NULL)`)
  })

  afterEach(async () => {
    await Promise.all([proxies?.redis.close(), proxies?.pg.close()])
    await pool.query(`TRUNCATE ${table}`)
    await deleteKeys(redis, `${prefix}:*`)
  })

  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`)
    await deleteKeys(redis, `${prefix}:*`)
    await pool.end()
    redis.disconnect()
  })

  async function run(fault: (p: typeof proxies) => Promise<void> | void) {
    proxies = {
      redis: await startProxy({ host: redisTarget.hostname, port: Number(redisTarget.port || 6379) }),
      pg: await startProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) }),
    }
    const child = spawnFixture('backing-services.mjs', {
      PREFIX: prefix,
      TABLE: table,
      REDIS_PORT: String(proxies.redis.port),
      PG_PORT: String(proxies.pg.port),
      PG_USER: decodeURIComponent(pgTarget.username) || 'postgres',
      PG_DATABASE: pgTarget.pathname.slice(1) || 'test',
      GRACE_MS: String(GRACE_MS),
      ENTRIES: String(ENTRIES),
    })
    await child.waitFor(/^ready:/, 15_000)
    expect(child.stdout).toContain(`ready: 5 locks, ${ENTRIES} + ${ENTRIES} dirty entries`)
    child.mark()
    child.child.kill('SIGTERM')
    await child.waitFor('phase flush')
    await fault(proxies)
    const exit = await child.exited
    const report = reportOf(child.stderr)
    const outcomes = Object.fromEntries(report ? allTasks(report).map((t) => [t.name, t.outcome]) : [])
    const detail = `exit ${JSON.stringify(exit)}\noutcomes ${JSON.stringify(outcomes)}\nreport ${JSON.stringify(report)}`
    expect(exit.signal, detail).toBeNull()
    expect(report, detail).toBeDefined()
    expect(exit.code, detail).toBe(report?.exitCode)
    expect(exit.elapsedMs, detail).toBeLessThan(GRACE_MS - 500)
    expect(report?.end ?? Number.POSITIVE_INFINITY, detail).toBeLessThanOrEqual(report?.deadline ?? 0)
    return { exit, report: report!, outcomes, detail }
  }

  const rowsWritten = async () => (await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number
  const keysUnder = async (pattern: string) => (await scanKeys(redis, `${prefix}:${pattern}`)).length

  it('Redis dies during the flush: exit 1, the Redis tasks named, PostgreSQL fully flushed', async () => {
    const { exit, report, outcomes, detail } = await run((p) => p.redis.kill())
    expect(exit.code, detail).toBe(1)
    // The other service's tasks were not dragged down, and their "ok" is true.
    expect(outcomes, detail).toMatchObject({ 'cache-redis': 'error', 'cache-postgres': 'ok', 'pg-pool': 'ok' })
    expect(outcomes['redis-locks'], detail).not.toBe('ok')
    const failed = taskReport(report, 'cache-redis')
    expect(failed.code, detail).toBe('LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE')
    expect(failed.error, detail).toMatch(/left unwritten/)
    expect(await rowsWritten(), detail).toBe(ENTRIES)
    expect((await keysUnder('cache:*')) < ENTRIES, detail).toBe(true)
  })

  it('PostgreSQL dies during the flush: exit 1, the PostgreSQL cache named, Redis fully flushed', async () => {
    const { exit, report, outcomes, detail } = await run((p) => p.pg.kill())
    expect(exit.code, detail).toBe(1)
    expect(outcomes, detail).toMatchObject({
      'cache-postgres': 'error',
      'cache-redis': 'ok',
      'redis-locks': 'ok',
      'redis-quit': 'ok',
    })
    expect(taskReport(report, 'cache-postgres').code, detail).toBe('LAMEDUCK_ERR_CACHE_FLUSH_INCOMPLETE')
    expect(await keysUnder('cache:*'), detail).toBe(ENTRIES)
    // Released: only the five fence keys are left under the lock prefix.
    expect(await keysUnder('lock:job-*'), detail).toBe(5)
    expect((await rowsWritten()) < ENTRIES, detail).toBe(true)
  })

  it('both freeze during the flush (connections hang): still out before the deadline, every hung task named', async () => {
    const { exit, outcomes, detail } = await run((p) => {
      p.redis.freeze()
      p.pg.freeze()
    })
    expect(exit.code, detail).toBe(1)
    expect(outcomes['cache-redis'], detail).not.toBe('ok')
    expect(outcomes['cache-postgres'], detail).not.toBe('ok')
    expect(outcomes['redis-locks'], detail).not.toBe('ok')
    expect(outcomes['redis-quit'], detail).not.toBe('ok')
  })
})
