// `pnpm demo` as a newcomer runs it: the example service under the simulator, with the real stores and
// with the in-process fallback. What the README promises: a live progress line, the shutdown timeline,
// the result table, `0 of N requests failed`, under 30 s.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnChild } from '../support/child.js'
import { DATABASE_URL, describeWith, REDIS_URL } from '../support/services.js'
import { scanKeys } from '../support/stores.js'

const demo = fileURLToPath(new URL('../../examples/express-service/demo.mjs', import.meta.url))

async function runDemo(env: Record<string, string>): Promise<{ code: number | null; out: string; ms: number }> {
  const run = spawnChild(process.execPath, [demo], { env })
  const exit = await run.exited
  return { code: exit.code, out: [...run.stdout, ...run.stderr].join('\n'), ms: exit.elapsedMs }
}

function expectTheDemo(out: string, ms: number, code: number | null, phases: string[]): void {
  if (code !== 0) console.error(out)
  expect(code).toBe(0)
  expect(ms).toBeLessThan(30_000)
  // Progress, once a second when stdout is not a terminal.
  expect(out.match(/^ {2}\S+ +\d+\.\d s +\d+ requests +\d+ failed +\d+ req\/s$/gm)?.length).toBeGreaterThanOrEqual(3)
  // The timeline: every phase that had tasks a bar, and replica A's report.
  expect(out).toMatch(/Shutdown timeline of replica A \(the \/shutdown response, \d+ ms, exit code 0\)/)
  for (const phase of phases) expect(out).toMatch(new RegExp(`^ {2}${phase} +\\|[ █]+\\| \\d+ ms`, 'm'))
  expect(out).toMatch(/verdict +PASS: no request failed, no SIGKILL/)
  const verdict = out.match(/^(\d+) of (\d+) requests failed$/m)
  expect(verdict?.[1]).toBe('0')
  // Requests were made (how many a second is the machine's business, not the demo's).
  expect(Number(verdict?.[2])).toBeGreaterThan(0)
}

await describeWith(['Redis', 'PostgreSQL'], 'pnpm demo with Redis and PostgreSQL', () => {
  const id = () => randomBytes(4).toString('hex')
  // What a demo run killed earlier left (a lock of its replica, fence counters, its table), what a demo of
  // before per-run namespaces left, a demo run alive beside this one, and a key merely alike.
  const killed = id()
  const live = id()
  const leftovers = [`lameduck-demo:${killed}:lock:worker-vm:4242`, `lameduck-demo:${killed}:lock:worker-vm:4242:fence`]
  const older = 'lameduck-demo:lock:worker-vm:35673:fence'
  const alive = [`lameduck-demo:${live}:alive`, `lameduck-demo:${live}:lock:worker-vm:4343:fence`]
  const alike = `lameduck-demonstration:${id()}`
  let redis: Redis
  let db: pg.Client

  beforeAll(async () => {
    redis = new Redis(REDIS_URL)
    db = new pg.Client({ connectionString: DATABASE_URL })
    await db.connect()
  })
  /** Seeded just before the run that must remove them (another demo run would remove them too). */
  async function seedLeftovers() {
    await redis.set(leftovers[0] as string, 'token', 'PX', 60_000)
    await redis.set(leftovers[1] as string, '7')
    await redis.set(older, '3')
    await redis.set(alive[0] as string, 'pid', 'PX', 60_000)
    await redis.set(alive[1] as string, '5')
    await redis.set(alike, 'x')
    for (const run of [killed, live])
      await db.query(`CREATE TABLE IF NOT EXISTS lameduck_demo_${run} (path text PRIMARY KEY, views text)`)
  }
  afterAll(async () => {
    await redis.del(...leftovers, older, ...alive, alike)
    for (const run of [killed, live]) await db.query(`DROP TABLE IF EXISTS lameduck_demo_${run}`)
    await db.end()
    redis.disconnect()
  })

  const tables = async (like: string) =>
    (await db.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE tablename LIKE $1', [like])).rows.map(
      (r) => r.t,
    )

  it('uses them, and shows the progress, the timeline, the result and 0 of N requests failed', async () => {
    const { code, out, ms } = await runDemo({})
    expectTheDemo(out, ms, code, ['readiness', 'drain', 'flush', 'release', 'close', 'report'])
    expect(out).toContain('replica A stores: Redis and PostgreSQL')
    expect(out).toMatch(/^ {4}redis-locks +\|[ █]+\| \d+ ms ok$/m)
    expect(out).toMatch(/^ {4}page-views +\|[ █]+\| \d+ ms ok$/m)
  }, 40_000)

  it('leaves nothing in Redis or PostgreSQL, and removes what killed runs left, and only that', async () => {
    await seedLeftovers()
    const { code, out } = await runDemo({})
    expect(code, out).toBe(0)
    const run = /keys under lameduck-demo:([0-9a-f]{8}):, table lameduck_demo_\1\)/.exec(out)?.[1]
    expect(run, out).toBeDefined()
    // This run's locks, fence counters (replica B was SIGKILLed holding its lock) and table: all gone.
    expect(out).toMatch(new RegExp(`Cleaned up: [1-9]\\d* Redis key\\(s\\) under lameduck-demo:${run}:`))
    expect(await scanKeys(redis, `lameduck-demo:${run}:*`)).toEqual([])
    expect(await tables(`lameduck_demo_${run}`)).toEqual([])
    // The killed run's and the older demo's leftovers were removed at the start...
    expect(out).toContain('Removed what earlier demo runs left:')
    expect(await redis.exists(...leftovers, older)).toBe(0)
    expect(await tables(`lameduck_demo_${killed}`)).toEqual([])
    // ...but not a live run's, nor a key outside the demo's prefix.
    expect(await redis.exists(...alive, alike)).toBe(3)
    expect(await tables(`lameduck_demo_${live}`)).toEqual([`lameduck_demo_${live}`])
  }, 40_000)
})

describe('pnpm demo without the stores', () => {
  it('falls back to an in-process store, says so, and still drops nothing', async () => {
    // Nothing listens on port 1: Redis is unreachable, as on a laptop without it.
    const { code, out, ms } = await runDemo({ REDIS_URL: 'redis://127.0.0.1:1' })
    // No locks, no pools: the release and close phases have no tasks, so no bars.
    expectTheDemo(out, ms, code, ['readiness', 'drain', 'flush', 'report'])
    expect(out).toContain('replica A stores: Redis or PostgreSQL not reachable, using an in-process store')
  }, 40_000)
})
