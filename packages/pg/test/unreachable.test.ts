import { closePool, createAdvisoryLocks, PoolClosingError } from '@lameduck/pg'
import pg from 'pg'
import { expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { closedPort, makeClient, makePool, onCleanup, startProxy, uniqueName } from './helpers.js'

await describeWith('PostgreSQL', 'PostgreSQL unreachable at shutdown', () => {
  it('a pool to a closed port: tasks end at once, connects fail honestly, nothing hangs', async () => {
    const shutdown = testShutdown()
    const port = await closedPort()
    const pool = makePool({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      connectionTimeoutMillis: 200,
    })
    const locks = createAdvisoryLocks(shutdown, pool, { timeoutMs: 500 })
    closePool(shutdown, pool, { timeoutMs: 500 })
    await expect(locks.acquire('job')).rejects.toThrow(/ECONNREFUSED|connect/)
    await expect(pool.query('SELECT 1')).rejects.toThrow(/ECONNREFUSED|connect/)
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(taskReport(report, 'pg-advisory-locks').outcome).toBe('ok') // nothing was held
    expect(taskReport(report, 'pg-pool').outcome).toBe('ok') // nothing was checked out
    await expect(pool.query('SELECT 1')).rejects.toBeInstanceOf(PoolClosingError)
  })

  it('a blackholed server (network partition): locks and pool tasks end within budget with honest errors', async () => {
    const proxy = await startProxy()
    onCleanup(() => proxy.close())
    const shutdown = testShutdown()
    const pool = new pg.Pool({ connectionString: proxy.url, connectionTimeoutMillis: 200 })
    pool.on('error', () => {})
    const locks = createAdvisoryLocks(shutdown, pool, { timeoutMs: 400 })
    closePool(shutdown, pool, { timeoutMs: 400 })
    const other = await makeClient()
    const key = uniqueName('partitioned')
    const lock = await locks.acquire(key)
    const busy = await pool.connect() // a client in use when PostgreSQL disappears
    const hanging = busy.query('SELECT 1')
    hanging.catch(() => {})
    proxy.freeze()
    await delay(20)
    const waiting = pool.query('SELECT 1') // would wait forever: no free client, none can connect
    waiting.catch(() => {})
    const started = Date.now()
    const report = await shutdown.shutdown()
    const elapsed = Date.now() - started
    const release = taskReport(report, 'pg-advisory-locks')
    expect(release).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_ADVISORY_UNLOCK_FAILED' })
    expect(release.durationMs).toBeLessThan(400)
    expect(release.error).toMatch(/1 advisory lock/)
    const close = taskReport(report, 'pg-pool')
    expect(close).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_POOL_FORCED' })
    expect(close.durationMs).toBeLessThan(400)
    expect(elapsed).toBeLessThan(1200)
    await expect(hanging).rejects.toThrow(/terminated/i)
    await expect(waiting).rejects.toThrow()
    expect(pool.ended).toBe(true)
    // Its session was destroyed with the connection: PostgreSQL frees it, nothing unlocked it.
    expect(await lock.release()).toBe('lost')
    // Once the partition heals (here: the proxy closes the server side), PostgreSQL frees the lock.
    await proxy.close()
    const id = lock.id.toString()
    let free = false
    for (let i = 0; i < 50 && !free; i++) {
      const { rows } = await other.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [id])
      free = rows[0]?.ok === true
      if (!free) await delay(20)
    }
    expect(free).toBe(true)
    await other.query('SELECT pg_advisory_unlock($1::bigint)', [id])
  })
})
