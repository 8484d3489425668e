// The pg internals this package reads (src/internals.ts), on real pools and clients: what they give, and
// the fallback when a version of pg no longer has them.
import { closePool } from '@lameduck/pg'
import { expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { destroyClient, poolControl } from '../src/internals.js'
import { makeClient, makePool } from './helpers.js'

const POOL_INTERNALS = ['_clients', '_idle', '_pendingQueue', '_pulseQueue']

await describeWith('PostgreSQL', 'pg internals: detection and fallbacks', () => {
  it('finds pg-pool internals on a real pool, and falls back to the public counts without them', async () => {
    const pool = makePool()
    const held = await pool.connect()
    await pool.query('SELECT 1') // on a second client, idle afterwards
    try {
      expect(poolControl(pool)).toMatchObject({ complete: true })
      expect(poolControl(pool).counts()).toEqual({ idle: 1, checkedOut: 1 })
      const fallback = poolControl(hiding(pool, ...POOL_INTERNALS))
      expect(fallback.complete).toBe(false)
      expect(fallback.counts()).toEqual({ idle: 1, checkedOut: 1 })
      expect(fallback.rejectQueued(new Error('never used'))).toBe(0)
    } finally {
      held.release()
    }
  })

  it('closePool without the internals: warns at registration, then closes with pool.end() alone', async () => {
    const pool = makePool()
    const view = hiding(pool, ...POOL_INTERNALS)
    const shutdown = testShutdown()
    const warnings: string[] = []
    shutdown.on('warning', ({ code }) => warnings.push(code))
    const closer = closePool(shutdown, view, { timeoutMs: 400 })
    expect(warnings).toEqual(['LAMEDUCK_WARN_POOL_INTERNALS'])
    const query = pool.query('SELECT pg_sleep(0.1), 1 AS one')
    await delay(20)
    const report = await shutdown.shutdown()
    await expect(query).resolves.toMatchObject({ rows: [{ one: 1 }] })
    expect(taskReport(report, 'pg-pool').outcome).toBe('ok')
    expect(closer.stats).toMatchObject({ checkedOutAtStart: 1, forced: 0 })
    expect(pool.ended).toBe(true)
  })

  it('closePool without the internals: a client never released fails the task, named as not destroyed', async () => {
    const pool = makePool()
    const shutdown = testShutdown()
    const closer = closePool(shutdown, hiding(pool, ...POOL_INTERNALS), { timeoutMs: 300 })
    const leaked = await pool.connect()
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'pg-pool')).toMatchObject({
      outcome: 'error',
      code: 'LAMEDUCK_ERR_POOL_FORCED',
      error: expect.stringMatching(/could not destroy .*1 PostgreSQL connection/),
    })
    expect(closer.stats).toMatchObject({ forced: 1 })
    // Nothing destroyed it: it still works, until the application lets it go.
    await expect(leaked.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] })
    leaked.release(true)
  })

  it('destroyClient drops the socket, or falls back to client.end() without one to reach', async () => {
    for (const view of [(c: object) => c, (c: object) => hiding(c, 'connection')]) {
      const client = await makeClient()
      const stuck = client.query('SELECT pg_sleep(5)')
      await delay(50)
      const started = Date.now()
      destroyClient(view(client) as never)
      await expect(stuck).rejects.toThrow(/terminated/i)
      expect(Date.now() - started).toBeLessThan(2000)
    }
  })
})
