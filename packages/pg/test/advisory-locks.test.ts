import {
  AdvisoryLocksClosedError,
  AdvisoryLockTimeoutError,
  advisoryLockId,
  closePool,
  createAdvisoryLocks,
} from '@lameduck/pg'
import type pg from 'pg'
import { expect, it } from 'vitest'
import { jumpingClock } from '../../../test/support/clock.js'
import { describeWith } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { makeClient, makePool, onCleanup, startTransactionPooler, uniqueName } from './helpers.js'

/** Whether another session could take the lock right now (released at once if so). */
async function freeElsewhere(other: pg.Client, id: bigint): Promise<boolean> {
  const { rows } = await other.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [id.toString()])
  if (rows[0]?.ok) await other.query('SELECT pg_advisory_unlock($1::bigint)', [id.toString()])
  return rows[0]?.ok === true
}

/** Advisory locks held by a backend, as pg_locks shows them from another session. */
async function advisoryLocksOf(other: pg.Client, pid: number): Promise<number> {
  const { rows } = await other.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND granted",
    [pid],
  )
  return rows[0]?.n ?? -1
}

async function lockHolders(other: pg.Client, id: bigint): Promise<number[]> {
  // A bigint key is stored as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
  const { rows } = await other.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
       AND classid::bigint = (($1::bigint >> 32) & 4294967295) AND objid::bigint = ($1::bigint & 4294967295)`,
    [id.toString()],
  )
  return rows.map((row) => row.pid)
}

await describeWith('PostgreSQL', 'createAdvisoryLocks', () => {
  it('acquires and releases a session lock another session cannot take meanwhile', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    const locks = createAdvisoryLocks(shutdown, pool)
    const other = await makeClient()
    const key = uniqueName('job')
    const lock = await locks.acquire(key)
    expect(lock.key).toBe(key)
    expect(lock.id).toBe(advisoryLockId(key))
    expect(locks.held()).toEqual([lock])
    expect(await freeElsewhere(other, lock.id)).toBe(false)
    expect(await lock.release()).toBe('released')
    expect(await lock.release()).toBe('released') // idempotent: the same outcome
    expect(locks.held()).toEqual([])
    expect(await freeElsewhere(other, lock.id)).toBe(true)
    // One dedicated connection, kept checked out.
    expect(pool.totalCount - pool.idleCount).toBe(1)
    expect(taskReport(await shutdown.shutdown(), 'pg-advisory-locks').outcome).toBe('ok')
    expect(pool.idleCount).toBe(1)
  })

  it('works with numbers, bigints and await using', async () => {
    const shutdown = testShutdown()
    const locks = createAdvisoryLocks(shutdown, makePool())
    const other = await makeClient()
    const big = -(2n ** 63n) + BigInt(Math.floor(Math.random() * 1e9))
    {
      await using a = await locks.acquire(big)
      await using b = await locks.acquire(Math.floor(Math.random() * 1e9))
      expect(a.id).toBe(big)
      expect(await freeElsewhere(other, a.id)).toBe(false)
      expect(await freeElsewhere(other, b.id)).toBe(false)
    }
    expect(locks.held()).toEqual([])
    expect(await freeElsewhere(other, big)).toBe(true)
    await shutdown.shutdown()
  })

  it('times out with AdvisoryLockTimeoutError after waitMs while another session holds it', async () => {
    const shutdown = testShutdown()
    const locks = createAdvisoryLocks(shutdown, makePool(), { retryDelayMs: 20 })
    const other = await makeClient()
    const key = uniqueName('busy')
    const id = advisoryLockId(key)
    await other.query('SELECT pg_advisory_lock($1::bigint)', [id.toString()])

    await expect(locks.acquire(key)).rejects.toBeInstanceOf(AdvisoryLockTimeoutError)
    const started = Date.now()
    const error = await locks.acquire(key, { waitMs: 200 }).catch((e: unknown) => e)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT', id, waitMs: 200 })

    // Retrying gets it once the other session lets go.
    setTimeout(() => void other.query('SELECT pg_advisory_unlock($1::bigint)', [id.toString()]), 100)
    const lock = await locks.acquire(key, { waitMs: 2000 })
    expect(await freeElsewhere(other, id)).toBe(false)
    await lock.release()
    await shutdown.shutdown()
  })

  it('a waiting acquire runs on the coordinator clock: waitMs ends when that clock says so', async () => {
    // The system clock, but for a jump the test makes: 60 s pass at once for the coordinator.
    const clock = jumpingClock()
    const shutdown = testShutdown({ clock })
    const locks = createAdvisoryLocks(shutdown, makePool(), { retryDelayMs: 20 })
    const other = await makeClient()
    const key = uniqueName('clock')
    await other.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockId(key).toString()])
    const waiting = locks.acquire(key, { waitMs: 60_000 }).catch((e: unknown) => e)
    await delay(100)
    clock.jump(60_000)
    expect(await waiting).toMatchObject({ code: 'LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT', waitMs: 60_000 })
    await shutdown.shutdown()
  })

  it('from the first trigger on, as every lock adapter: a waiting acquire is cancelled at once, a new one refused', async () => {
    const shutdown = testShutdown()
    const locks = createAdvisoryLocks(shutdown, makePool(), { retryDelayMs: 20 })
    const key = uniqueName('trigger')
    const held = await locks.acquire(key)
    // A drain task holding the run in its phase: the release task, which would close the locks, comes later.
    let drained!: () => void
    const inDrain = new Promise<void>((started) => {
      shutdown.addTask({
        name: 'drain',
        phase: 'drain',
        run: () => {
          started()
          return new Promise<void>((resolve) => (drained = resolve))
        },
      })
    })
    const started = Date.now()
    const waiting = locks.acquire(key, { waitMs: 10_000 }).catch((e: unknown) => e)
    await delay(100)
    const run = shutdown.shutdown('test')
    expect(await waiting).toBeInstanceOf(AdvisoryLocksClosedError)
    expect(Date.now() - started).toBeLessThan(5000)
    await expect(locks.acquire(uniqueName('after'))).rejects.toMatchObject({
      code: 'LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED',
    })
    expect(locks.held()).toEqual([held])
    await inDrain
    drained()
    const report = await run
    expect(taskReport(report, 'pg-advisory-locks').outcome).toBe('ok')
    expect(await held.release()).toBe('released')
  })

  it('remove() detaches the locks from the coordinator: not refused at its shutdown, nor released by it', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    const locks = createAdvisoryLocks(shutdown, pool)
    locks.remove()
    const other = await makeClient()
    await shutdown.shutdown('test')
    const lock = await locks.acquire(uniqueName('detached'))
    expect(await freeElsewhere(other, lock.id)).toBe(false)
    const [pid] = await lockHolders(other, lock.id)
    expect(await lock.release()).toBe('released')
    expect(await freeElsewhere(other, lock.id)).toBe(true)
    // Its dedicated connection is the application's to end now (no release task gives it back): ended from
    // the other session, so that the pool can end.
    await other.query('SELECT pg_terminate_backend($1)', [pid])
    for (let i = 0; i < 100 && pool.totalCount > 0; i++) await delay(10)
  })

  it('a lost connection loses its locks: warned, out of held(), released as lost; the next acquire reconnects', async () => {
    const shutdown = testShutdown()
    const warnings: { code: string; details?: unknown }[] = []
    shutdown.on('warning', (warning) => warnings.push(warning))
    const locks = createAdvisoryLocks(shutdown, makePool())
    const other = await makeClient()
    const lock = await locks.acquire(uniqueName('lost'))
    const [pid] = await lockHolders(other, lock.id)
    await other.query('SELECT pg_terminate_backend($1)', [pid])
    for (let i = 0; i < 100 && locks.held().length > 0; i++) await delay(10)
    expect(locks.held()).toEqual([])
    expect(warnings).toMatchObject([{ code: 'LAMEDUCK_WARN_ADVISORY_LOCKS_LOST', details: { lost: 1 } }])
    expect(await lock.release()).toBe('lost')
    expect(await freeElsewhere(other, lock.id)).toBe(true)
    const again = await locks.acquire(lock.key)
    expect(locks.held()).toEqual([again])
    expect(taskReport(await shutdown.shutdown(), 'pg-advisory-locks').outcome).toBe('ok')
    expect(await again.release()).toBe('released')
  })

  it('holds a key once per instance: a second acquire waits like any other session', async () => {
    const shutdown = testShutdown()
    const locks = createAdvisoryLocks(shutdown, makePool())
    const key = uniqueName('once')
    const [first, second] = await Promise.allSettled([locks.acquire(key), locks.acquire(key)])
    expect([first.status, second.status].sort()).toEqual(['fulfilled', 'rejected'])
    const lock = first.status === 'fulfilled' ? first.value : (second as PromiseFulfilledResult<never>).value
    const again = locks.acquire(key, { waitMs: 1000 })
    setTimeout(() => void lock.release(), 100)
    const next = await again
    expect(next.id).toBe(lock.id)
    await shutdown.shutdown()
  })

  it('the release task releases every lock and gives the connection back; pg_locks shows none left', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    const locks = createAdvisoryLocks(shutdown, pool)
    closePool(shutdown, pool)
    const other = await makeClient()
    const taken = await Promise.all([1, 2, 3].map((n) => locks.acquire(uniqueName(`k${n}`))))
    const { rows } = await other.query<{ pid: number }>('SELECT 1')
    expect(rows).toHaveLength(1)
    const holders = await lockHolders(other, taken[0]!.id)
    expect(holders).toHaveLength(1)
    const pid = holders[0]!
    expect(await advisoryLocksOf(other, pid)).toBe(3)

    const report = await shutdown.shutdown()
    expect(taskReport(report, 'pg-advisory-locks')).toMatchObject({ outcome: 'ok', phase: 'release' })
    expect(taskReport(report, 'pg-pool').outcome).toBe('ok')
    expect(locks.held()).toEqual([])
    // Released by the task: every release() says so, without a statement of its own.
    for (const lock of taken) expect(await lock.release()).toBe('released')
    expect(await advisoryLocksOf(other, pid)).toBe(0)
    for (const lock of taken) expect(await freeElsewhere(other, lock.id)).toBe(true)
    await expect(locks.acquire('late')).rejects.toBeInstanceOf(AdvisoryLocksClosedError)
  })

  it('the release task is ok when no lock was ever taken', async () => {
    const shutdown = testShutdown()
    const pool = makePool()
    createAdvisoryLocks(shutdown, pool)
    expect(taskReport(await shutdown.shutdown(), 'pg-advisory-locks').outcome).toBe('ok')
    expect(pool.totalCount).toBe(0)
  })

  it('does not warn about a transaction pooler when connected directly', async () => {
    const shutdown = testShutdown()
    const warnings: string[] = []
    shutdown.on('warning', ({ code }) => warnings.push(code))
    const locks = createAdvisoryLocks(shutdown, makePool())
    await (await locks.acquire(uniqueName())).release()
    expect(warnings).toEqual([])
    await shutdown.shutdown()
  })

  it('warns LAMEDUCK_WARN_TRANSACTION_POOLER behind a transaction-mode pooler', async () => {
    const pooler = await startTransactionPooler()
    onCleanup(() => pooler.close())
    // The pooler really does hop: two statements on one client connection, two backends.
    const probe = makePool({ connectionString: pooler.url, max: 1 })
    const pids = [
      (await probe.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid,
      (await probe.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid,
    ]
    expect(pids[0]).not.toBe(pids[1])

    const shutdown = testShutdown()
    const warnings: { code: string; details?: unknown }[] = []
    shutdown.on('warning', (warning) => warnings.push(warning))
    const locks = createAdvisoryLocks(shutdown, makePool({ connectionString: pooler.url }))
    const lock = await locks.acquire(uniqueName())
    expect(warnings.map((w) => w.code)).toEqual(['LAMEDUCK_WARN_TRANSACTION_POOLER'])
    expect(warnings[0]).toMatchObject({ details: { pids: [expect.any(Number), expect.any(Number)] } })
    await lock.release()
    await shutdown.shutdown()
  })

  it('hashes string keys to a stable signed 64-bit id, the same as the documented SQL', async () => {
    const other = await makeClient()
    expect(advisoryLockId('nightly-report')).toBe(advisoryLockId('nightly-report'))
    expect(advisoryLockId('a')).not.toBe(advisoryLockId('b'))
    expect(advisoryLockId('')).toBe(-2039914840885289964n) // sha256('') = e3b0c44298fc1c14…
    for (const key of ['nightly-report', 'ключ', uniqueName(), 'x'.repeat(1000)]) {
      const id = advisoryLockId(key)
      expect(typeof id).toBe('bigint')
      expect(BigInt.asIntN(64, id)).toBe(id)
      const { rows } = await other.query<{ id: string }>(
        `SELECT (('x' || left(encode(sha256(convert_to($1, 'UTF8')), 'hex'), 16))::bit(64)::bigint)::text AS id`,
        [key],
      )
      expect(rows[0]?.id).toBe(id.toString())
    }
    const negative = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].some((key) => advisoryLockId(key) < 0n)
    expect(negative).toBe(true)
    expect(advisoryLockId(42)).toBe(42n)
    expect(() => advisoryLockId(1.5)).toThrow(/key/)
    expect(() => advisoryLockId(2n ** 63n)).toThrow(/64-bit/)
  })
})
