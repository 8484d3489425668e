import { closePool, PoolClosingError } from '@lameduck/pg'
import { expect, it, vi } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { makePool } from './helpers.js'

await describeWith('PostgreSQL', 'closePool', () => {
  it('lets a query in flight complete, then ends the pool', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    const closer = closePool(shutdown, pool)
    const end = vi.spyOn(pool, 'end')
    const query = pool.query('SELECT pg_sleep(0.3), 42 AS answer')
    await delay(50)
    const report = await shutdown.shutdown()
    await expect(query).resolves.toMatchObject({ rows: [{ answer: 42 }] })
    expect(taskReport(report, 'pg-pool')).toMatchObject({ outcome: 'ok', phase: 'close' })
    expect(report.exitCode).toBe(0)
    expect(pool.ended).toBe(true)
    expect(end).toHaveBeenCalledTimes(1)
    expect(closer.stats).toMatchObject({ checkedOutAtStart: 1, forced: 0, endedByUser: false })
  })

  it('rejects queued connect() waiters with PoolClosingError', async () => {
    const shutdown = testShutdown()
    const pool = makePool({ max: 1 })
    closePool(shutdown, pool, { timeoutMs: 2000 })
    const held = await pool.connect()
    const waiter = pool.connect()
    const queuedQuery = pool.query('SELECT 1')
    await delay(20)
    expect(pool.waitingCount).toBe(2)
    const run = shutdown.shutdown()
    await expect(waiter).rejects.toBeInstanceOf(PoolClosingError)
    await expect(queuedQuery).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_POOL_CLOSING' })
    // The checked-out client still works until it is released.
    await expect(held.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] })
    held.release()
    const report = await run
    expect(taskReport(report, 'pg-pool').outcome).toBe('ok')
    expect(pool.ended).toBe(true)
  })

  it('rejects new checkouts once the close has started', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    closePool(shutdown, pool)
    const held = await pool.connect()
    const run = shutdown.shutdown()
    // Wait for the close phase.
    await new Promise<void>((resolve) => {
      const off = shutdown.on('taskStart', ({ name }) => {
        if (name === 'pg-pool') {
          off()
          resolve()
        }
      })
    })
    await expect(pool.connect()).rejects.toBeInstanceOf(PoolClosingError)
    await expect(pool.query('SELECT 1')).rejects.toBeInstanceOf(PoolClosingError)
    const viaCallback = await new Promise<Error | undefined>((resolve) =>
      pool.query('SELECT 1', (error) => resolve(error)),
    )
    expect(viaCallback).toBeInstanceOf(PoolClosingError)
    held.release()
    expect(taskReport(await run, 'pg-pool').outcome).toBe('ok')
  })

  it('destroys a client never released just before the budget and reports LAMEDUCK_ERR_POOL_FORCED', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    const closer = closePool(shutdown, pool, { timeoutMs: 400 })
    const leaked = await pool.connect()
    await pool.query('SELECT 1') // an idle client too
    const started = Date.now()
    const report = await shutdown.shutdown()
    const elapsed = Date.now() - started
    const close = taskReport(report, 'pg-pool')
    expect(close).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_POOL_FORCED' })
    expect(close.durationMs).toBeGreaterThanOrEqual(300)
    expect(close.durationMs).toBeLessThan(400)
    expect(elapsed).toBeLessThan(1000)
    expect(closer.stats).toMatchObject({ checkedOutAtStart: 1, idleAtStart: 1, forced: 1 })
    expect(report.exitCode).toBe(1)
    expect(pool.ended).toBe(true)
    // Its connection is gone, and a late release() is harmless.
    await expect(leaked.query('SELECT 1')).rejects.toThrow()
    expect(() => leaked.release()).not.toThrow()
  })

  it('waits for checked-out clients on the coordinator clock: the close ends when that clock says so', async () => {
    // The system clock until the close has run 50 ms; then 25 ms before the task's deadline of 60 s, where
    // it stays while the task runs: the pool close must stop waiting at once, and report the client forced.
    let frozenAt: number | undefined
    const clock = {
      now: () => frozenAt ?? Date.now(),
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    }
    const shutdown = testShutdown({ clock, gracePeriodMs: 120_000 })
    const pool = makePool()
    closePool(shutdown, pool, { timeoutMs: 60_000 })
    const leaked = await pool.connect()
    shutdown.on('taskStart', ({ name, start, budgetMs }) => {
      if (name === 'pg-pool') setTimeout(() => (frozenAt = start + budgetMs - 25), 50)
    })
    shutdown.on('taskEnd', ({ name }) => {
      if (name === 'pg-pool') frozenAt = undefined
    })
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'pg-pool')).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_POOL_FORCED' })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(() => leaked.release()).not.toThrow()
  })

  it('destroys a client stuck in a long query, whose query then fails', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    closePool(shutdown, pool, { timeoutMs: 300 })
    const stuck = pool.query('SELECT pg_sleep(5)')
    stuck.catch(() => {})
    await delay(50)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'pg-pool')).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_POOL_FORCED' })
    await expect(stuck).rejects.toThrow(/terminated/i)
    expect(taskReport(report, 'pg-pool').error).toMatch(/destroyed 1 PostgreSQL connection\(s\)/)
  })

  it('never calls pool.end() a second time when the application already did', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    const closer = closePool(shutdown, pool)
    const end = vi.spyOn(pool, 'end')
    const client = await pool.connect()
    const userEnd = pool.end()
    setTimeout(() => client.release(), 100)
    const report = await shutdown.shutdown()
    await userEnd
    expect(end).toHaveBeenCalledTimes(1)
    expect(taskReport(report, 'pg-pool').outcome).toBe('ok')
    expect(closer.stats).toMatchObject({ endedByUser: true, forced: 0 })
    expect(pool.ended).toBe(true)
  })

  it('is ok when the pool has already ended', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    closePool(shutdown, pool)
    await pool.query('SELECT 1')
    await pool.end()
    const end = vi.spyOn(pool, 'end')
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'pg-pool').outcome).toBe('ok')
    expect(end).not.toHaveBeenCalled()
  })

  it('names further pools pg-pool-2, … and rejects what is not a pool', async () => {
    const shutdown = testShutdown()
    closePool(shutdown, makePool())
    const second = closePool(shutdown, makePool())
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'pg-pool-2').outcome).toBe('ok')
    expect(second.stats?.forced).toBe(0)
    expect(() => closePool(testShutdown(), {} as never)).toThrow(/pool/)
  })
})
