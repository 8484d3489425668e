import { InvalidDurationError, InvalidOptionError, LameduckError } from '@lameduck/core'
import { DuplicateRegistrationError } from '@lameduck/core/adapter'
import { closeRedis, createLocks, LockLostError, LockTimeoutError } from '@lameduck/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { jumpingClock } from '../../../test/support/clock.js'
import { describeWith } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { blackholeProxy, cleanup, client, countPipelines, runPrefix } from './helpers.js'

await describeWith('Redis', '@lameduck/redis locks', () => {
  const prefix = runPrefix()
  let redis: Redis
  let other: Redis

  beforeAll(() => {
    redis = client()
    other = client()
  })
  afterAll(() => cleanup(prefix))

  /** Polls Redis until `key` is gone (it expired); fails after 3 s. */
  async function expiredInRedis(key: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if ((await other.exists(key)) === 0) return
      await delay(5)
    }
    throw new Error(`${key} did not expire`)
  }

  it('acquires and releases with a random token and a fencing token', async () => {
    const shutdown = testShutdown()
    const locks = createLocks(shutdown, redis, { keyPrefix: prefix })
    const lock = await locks.acquire('basic', { ttlMs: 5000 })
    expect(lock.key).toBe('basic')
    expect(lock.token).toMatch(/^[0-9a-f]{32}$/)
    expect(lock.fence).toBeGreaterThanOrEqual(1)
    expect(await other.get(`${prefix}basic`)).toBe(lock.token)
    expect(await other.get(`${prefix}basic:fence`)).toBe(String(lock.fence))
    const ttl = await other.pttl(`${prefix}basic`)
    expect(ttl).toBeGreaterThan(4000)
    expect(ttl).toBeLessThanOrEqual(5000)
    expect(locks.held()).toEqual([lock])

    await expect(locks.acquire('basic', { ttlMs: 5000 })).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_TIMEOUT' })

    expect(await lock.release()).toBe('released')
    expect(await lock.release()).toBe('released')
    expect(await other.exists(`${prefix}basic`)).toBe(0)
    expect(locks.held()).toHaveLength(0)
    expect(lock.signal.aborted).toBe(false)

    {
      await using scoped = await locks.acquire('basic', { ttlMs: 5000 })
      expect(scoped.fence).toBeGreaterThan(lock.fence)
      expect(locks.held()).toHaveLength(1)
    }
    expect(await other.exists(`${prefix}basic`)).toBe(0)
    expect(locks.held()).toHaveLength(0)
  })

  it('never deletes the lock of a holder that took over after the TTL expired', async () => {
    const shutdown = testShutdown()
    const mine = createLocks(shutdown, redis, { keyPrefix: prefix, name: 'mine' })
    const theirs = createLocks(shutdown, other, { keyPrefix: prefix, name: 'theirs' })
    const first = await mine.acquire('takeover', { ttlMs: 100 })
    await delay(150)
    const second = await theirs.acquire('takeover', { ttlMs: 10_000 })
    expect(second.fence).toBeGreaterThan(first.fence)

    expect(await first.release()).toBe('lost')
    expect(await other.get(`${prefix}takeover`)).toBe(second.token)
    expect(await other.pttl(`${prefix}takeover`)).toBeGreaterThan(9000)
    expect(first.signal.aborted).toBe(true)
    expect(first.signal.reason).toBeInstanceOf(LockLostError)
    expect(await second.release()).toBe('released')
  })

  it('also answers lost when the expired lock was not taken over', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const lock = await locks.acquire('expired', { ttlMs: 50 })
    await delay(120)
    expect(lock.signal.aborted).toBe(true)
    expect(lock.signal.reason).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_LOST', reason: 'expired' })
    expect(locks.held()).toHaveLength(0)
    expect(await lock.release()).toBe('lost')
  })

  it('hands out strictly increasing fencing tokens across holders and clients', async () => {
    const shutdown = testShutdown()
    const a = createLocks(shutdown, redis, { keyPrefix: prefix, name: 'a' })
    const b = createLocks(shutdown, other, { keyPrefix: prefix, name: 'b' })
    const fences: number[] = []
    for (let round = 0; round < 6; round++) {
      const lock = await (round % 2 === 0 ? a : b).acquire('fenced', { ttlMs: 5000 })
      fences.push(lock.fence)
      if (round === 3)
        await other.del(`${prefix}fenced`) // a holder that "crashed": its lock vanished
      else await lock.release()
    }
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] as number)
  })

  it('extends while held and reports a lost lock', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const lock = await locks.acquire('extend', { ttlMs: 200 })
    expect(await lock.extend(5000)).toBe(true)
    expect(await other.pttl(`${prefix}extend`)).toBeGreaterThan(4000)
    await delay(250) // past the first TTL: the extension must keep it
    expect(lock.signal.aborted).toBe(false)
    expect(await other.get(`${prefix}extend`)).toBe(lock.token)

    await other.set(`${prefix}extend`, 'someone-else')
    expect(await lock.extend()).toBe(false)
    expect(lock.signal.aborted).toBe(true)
    expect(lock.signal.reason).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_LOST', reason: 'taken' })
    expect(await lock.release()).toBe('lost')
    expect(await other.get(`${prefix}extend`)).toBe('someone-else')
  })

  it('a shorter extension brings the expiry forward: signal aborts no later than Redis drops the key', async () => {
    const shutdown = testShutdown()
    const mine = createLocks(shutdown, redis, { keyPrefix: prefix, name: 'mine' })
    const theirs = createLocks(shutdown, other, { keyPrefix: prefix, name: 'theirs' })
    const lock = await mine.acquire('shorter', { ttlMs: 10_000 })
    expect(await lock.extend(100)).toBe(true)
    expect(await other.pttl(`${prefix}shorter`)).toBeLessThanOrEqual(100)

    await expiredInRedis(`${prefix}shorter`)
    await delay(5) // the timer due at the same millisecond as Redis's expiry gets its turn
    expect(lock.signal.aborted).toBe(true)
    expect(lock.signal.reason).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_LOST', reason: 'expired' })
    expect(mine.held()).toHaveLength(0)

    const next = await theirs.acquire('shorter', { ttlMs: 10_000 })
    expect(next.fence).toBeGreaterThan(lock.fence)
    expect(await lock.release()).toBe('lost')
    expect(await next.release()).toBe('released')
  })

  it('of extensions in flight together, the last one sent sets the expiry', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const shortened = await locks.acquire('in-flight:short', { ttlMs: 10_000 })
    expect(await Promise.all([shortened.extend(10_000), shortened.extend(100)])).toEqual([true, true])
    await expiredInRedis(`${prefix}in-flight:short`)
    await delay(5)
    expect(shortened.signal.aborted).toBe(true)

    const lengthened = await locks.acquire('in-flight:long', { ttlMs: 10_000 })
    expect(await Promise.all([lengthened.extend(200), lengthened.extend(10_000)])).toEqual([true, true])
    await delay(400) // past the shorter TTL, sent first: the longer one, sent last, is what Redis kept
    expect(lengthened.signal.aborted).toBe(false)
    expect(await other.pttl(`${prefix}in-flight:long`)).toBeGreaterThan(9000)
    expect(await lengthened.release()).toBe('released')
  })

  it('counts an extension whose reply never came as applied: Redis may have run it', async () => {
    const proxy = await blackholeProxy()
    const lossy = new Redis({ port: proxy.port, maxRetriesPerRequest: 1, commandTimeout: 500, lazyConnect: true })
    lossy.on('error', () => {})
    try {
      await lossy.connect()
      const locks = createLocks(testShutdown(), lossy, { keyPrefix: prefix })
      const lock = await locks.acquire('unanswered', { ttlMs: 10_000 })
      proxy.blackhole('replies') // the PEXPIRE reaches Redis and runs; its reply is lost
      const extending = lock.extend(100).catch((e: unknown) => e)
      await expiredInRedis(`${prefix}unanswered`)
      await delay(5)
      // Redis dropped the key while the extension was still unanswered: the lock is already known lost.
      expect(lock.signal.aborted).toBe(true)
      expect(lock.signal.reason).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_LOST', reason: 'expired' })
      expect(locks.held()).toHaveLength(0)
      expect(await extending).toMatchObject({ message: expect.stringMatching(/timed out/) })
    } finally {
      lossy.disconnect()
      await proxy.close()
    }
  })

  it('autoExtend keeps the lock past its TTL and aborts the signal when it is lost', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const lock = await locks.acquire('auto', { ttlMs: 150, autoExtend: true })
    await delay(600)
    expect(lock.signal.aborted).toBe(false)
    expect(await other.get(`${prefix}auto`)).toBe(lock.token)
    expect(locks.held()).toHaveLength(1)

    await other.del(`${prefix}auto`)
    const lost = new Promise((resolve) => lock.signal.addEventListener('abort', resolve, { once: true }))
    await lost
    expect(lock.signal.reason).toBeInstanceOf(LockLostError)
    expect(lock.signal.reason).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_LOST' })
    expect(locks.held()).toHaveLength(0)
    expect(await lock.release()).toBe('lost')
  })

  it('waits for a lock until its holder releases it', async () => {
    const shutdown = testShutdown()
    const a = createLocks(shutdown, redis, { keyPrefix: prefix, name: 'a' })
    const b = createLocks(shutdown, other, { keyPrefix: prefix, name: 'b' })
    const held = await a.acquire('wait', { ttlMs: 5000 })
    setTimeout(() => void held.release(), 150)
    const started = Date.now()
    const next = await b.acquire('wait', { ttlMs: 5000, waitMs: 3000 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(next.fence).toBeGreaterThan(held.fence)
    expect(await other.get(`${prefix}wait`)).toBe(next.token)
    await next.release()
  })

  it('rejects with LockTimeoutError when waitMs runs out', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const held = await locks.acquire('timeout', { ttlMs: 5000 })
    const started = Date.now()
    const error = await locks.acquire('timeout', { ttlMs: 5000, waitMs: 200 }).catch((e: unknown) => e)
    const elapsed = Date.now() - started
    expect(error).toBeInstanceOf(LockTimeoutError)
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_TIMEOUT', key: 'timeout', waitMs: 200 })
    expect(elapsed).toBeGreaterThanOrEqual(195)
    expect(elapsed).toBeLessThan(1000)
    expect(await other.get(`${prefix}timeout`)).toBe(held.token)
    await held.release()
  })

  it('a waiting acquire runs on the coordinator clock: waitMs ends when that clock says so', async () => {
    // The system clock, but for a jump the test makes: 60 s pass at once for the coordinator.
    const clock = jumpingClock()
    const shutdown = testShutdown({ clock })
    const locks = createLocks(shutdown, redis, { keyPrefix: prefix, retryDelayMs: 20 })
    const held = await createLocks(testShutdown(), other, { keyPrefix: prefix }).acquire('clock', { ttlMs: 5000 })
    const waiting = locks.acquire('clock', { ttlMs: 5000, waitMs: 60_000 }).catch((e: unknown) => e)
    await delay(50)
    clock.jump(60_000)
    expect(await waiting).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_TIMEOUT', waitMs: 60_000 })
    expect(await held.release()).toBe('released')
  })

  it('cancels a wait with the signal option', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const held = await locks.acquire('signal', { ttlMs: 5000 })
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('caller gave up')), 100)
    await expect(locks.acquire('signal', { ttlMs: 5000, waitMs: 5000, signal: controller.signal })).rejects.toThrow(
      'caller gave up',
    )
    await held.release()
  })

  it('cancels a wait when the shutdown starts, refuses new locks, and releases the held ones', async () => {
    const shutdown = testShutdown()
    const a = createLocks(shutdown, redis, { keyPrefix: prefix, name: 'a' })
    const b = createLocks(shutdown, other, { keyPrefix: prefix, name: 'b' })
    const held = await a.acquire('shutdown', { ttlMs: 5000 })
    const started = Date.now()
    const waiting = b.acquire('shutdown', { ttlMs: 5000, waitMs: 10_000 }).catch((e: unknown) => e)
    setTimeout(() => void shutdown.shutdown('test'), 100)
    expect(await waiting).toMatchObject({ code: 'LAMEDUCK_ERR_SHUTTING_DOWN', key: 'shutdown' })
    expect(Date.now() - started).toBeLessThan(1000)
    await expect(a.acquire('another', { ttlMs: 5000 })).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_SHUTTING_DOWN' })

    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    const release = report.phases.find((phase) => phase.name === 'release')
    expect(release?.tasks.map((task) => [task.name, task.outcome])).toEqual([
      ['b', 'ok'],
      ['a', 'ok'],
    ])
    expect(await other.exists(`${prefix}shutdown`)).toBe(0)
    expect(await held.release()).toBe('released')
  })

  it('releases 1,000 held locks in the release phase in a few round trips', async () => {
    const shutdown = testShutdown()
    const locks = createLocks(shutdown, redis, { keyPrefix: prefix })
    const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => locks.acquire(`many:${i}`, { ttlMs: 30_000 })))
    expect(locks.held()).toHaveLength(1000)
    // One already lost: it expired and another holder took it; it must be left alone and counted.
    await other.set(`${prefix}many:7`, 'foreign')
    const pipelines = countPipelines(redis)
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(pipelines.calls).toBeLessThanOrEqual(5)
    expect(pipelines.calls).toBeGreaterThanOrEqual(1)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(report.exitCode).toBe(0)
    expect(taskReport(report, 'redis-locks')).toMatchObject({ phase: 'release', outcome: 'ok' })
    expect(locks.held()).toHaveLength(0)
    const remaining = await other.exists(...all.map((lock) => `${prefix}${lock.key}`))
    expect(remaining).toBe(1)
    expect(await other.get(`${prefix}many:7`)).toBe('foreign')
    expect(await all[7]?.release()).toBe('lost')
    expect(await all[8]?.release()).toBe('released')
  })

  it('releaseAll releases everything and reports the counts', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix, batchSize: 2 })
    const all = await Promise.all([1, 2, 3, 4, 5].map((i) => locks.acquire(`all:${i}`, { ttlMs: 5000 })))
    await other.del(`${prefix}all:1`)
    await all[1]?.release()
    expect(await locks.releaseAll()).toEqual({ released: 3, lost: 1, failed: 0, pending: 0 })
    expect(locks.held()).toHaveLength(0)
    expect(await locks.releaseAll()).toEqual({ released: 0, lost: 0, failed: 0, pending: 0 })
  })

  it('ends within its budget and fails the shutdown when Redis stops answering', async () => {
    const proxy = await blackholeProxy()
    const partitioned = new Redis({ port: proxy.port, maxRetriesPerRequest: 1, lazyConnect: true })
    partitioned.on('error', () => {})
    try {
      await partitioned.connect()
      const shutdown = testShutdown()
      closeRedis(shutdown, partitioned, { timeoutMs: 400 })
      const locks = createLocks(shutdown, partitioned, { keyPrefix: prefix, timeoutMs: 500 })
      await Promise.all(Array.from({ length: 10 }, (_, i) => locks.acquire(`partition:${i}`, { ttlMs: 30_000 })))
      proxy.blackhole()

      const started = Date.now()
      const report = await shutdown.shutdown()
      const elapsed = Date.now() - started
      expect(elapsed).toBeLessThan(1200)
      expect(report.exitCode).not.toBe(0)
      const release = taskReport(report, 'redis-locks')
      expect(release).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_LOCK_RELEASE_INCOMPLETE' })
      expect(release.error).toContain('10 without an answer')
      expect(release.durationMs).toBeLessThan(500)
      const quit = taskReport(report, 'redis-quit')
      expect(quit).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_REDIS_QUIT_TIMEOUT' })
      expect(quit.durationMs).toBeLessThan(400)
      for (let i = 0; i < 50 && partitioned.status !== 'end'; i++) await delay(10)
      expect(partitioned.status).toBe('end')
      // Never released: they stay until their TTL.
      expect(await other.exists(`${prefix}partition:0`)).toBe(1)
    } finally {
      partitioned.disconnect()
      await proxy.close()
    }
  })

  it('stops on the coordinator clock when Redis stops answering: release and quit end by its deadlines', async () => {
    // A coordinator clock running twice as fast as the wall clock: 4 s budgets last 2 s. Timed by Date.now()
    // or a bare setTimeout, the tasks would still wait at their deadline, which the coordinator's clock has
    // passed: they would be timed out (LAMEDUCK_ERR_TASK_TIMEOUT) instead of reporting what they left.
    const start = Date.now()
    const clock = {
      now: () => start + (Date.now() - start) * 2,
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms / 2),
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    }
    const proxy = await blackholeProxy()
    const partitioned = new Redis({ port: proxy.port, maxRetriesPerRequest: 1, lazyConnect: true })
    partitioned.on('error', () => {})
    try {
      await partitioned.connect()
      const shutdown = testShutdown({ clock, gracePeriodMs: 60_000 })
      closeRedis(shutdown, partitioned, { timeoutMs: 4000 })
      const locks = createLocks(shutdown, partitioned, { keyPrefix: prefix, timeoutMs: 4000 })
      await Promise.all(Array.from({ length: 3 }, (_, i) => locks.acquire(`fast-clock:${i}`, { ttlMs: 30_000 })))
      proxy.blackhole()
      const report = await shutdown.shutdown()
      expect(taskReport(report, 'redis-locks')).toMatchObject({ code: 'LAMEDUCK_ERR_LOCK_RELEASE_INCOMPLETE' })
      expect(taskReport(report, 'redis-quit')).toMatchObject({ code: 'LAMEDUCK_ERR_REDIS_QUIT_TIMEOUT' })
    } finally {
      partitioned.disconnect()
      await proxy.close()
    }
  })

  it('refuses a lock key ending in ":fence", which is where the fence keys live', async () => {
    const shutdown = testShutdown()
    const locks = createLocks(shutdown, redis, { keyPrefix: prefix, name: 'plain' })
    const job = await locks.acquire('job', { ttlMs: 5000 })
    // `${prefix}job:fence` is the fencing counter of `job`: it must never become a lock key.
    const refused = await locks.acquire('job:fence', { ttlMs: 5000 }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(InvalidOptionError)
    expect(refused).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION', message: expect.stringMatching(/:fence/) })
    // The same full key through another prefix is refused too.
    const prefixed = createLocks(shutdown, other, { keyPrefix: `${prefix}job:`, name: 'prefixed' })
    await expect(prefixed.acquire('fence', { ttlMs: 5000, waitMs: 1000 })).rejects.toThrow(InvalidOptionError)
    expect(await other.get(`${prefix}job:fence`)).toBe(String(job.fence))
    expect(await other.get(`${prefix}job`)).toBe(job.token)
    expect([...locks.held(), ...prefixed.held()].map((lock) => lock.key)).toEqual(['job'])
    // ":fence" anywhere but at the end is an ordinary key.
    for (const key of ['{job:fence}', 'job:fence:1', 'job:fences']) {
      const lock = await locks.acquire(key, { ttlMs: 5000 })
      expect(await lock.release()).toBe('released')
    }
    expect(await job.release()).toBe('released')
  })

  it('fails cleanly, leaving no lock behind, when the fence key holds no integer', async () => {
    const locks = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    await other.set(`${prefix}garbage:fence`, 'not-a-number')
    await other.rpush(`${prefix}wrong-type:fence`, 'x')
    for (const [key, detail] of [
      ['garbage', /not an integer/],
      ['wrong-type', /WRONGTYPE/],
    ] as const) {
      const error = await locks.acquire(key, { ttlMs: 5000, waitMs: 1000 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LameduckError)
      expect(error).toMatchObject({
        code: 'LAMEDUCK_ERR_LOCK_FENCE',
        key,
        fenceKey: `${prefix}${key}:fence`,
        message: expect.stringMatching(detail),
      })
      expect(await other.exists(`${prefix}${key}`)).toBe(0)
      expect(locks.held()).toHaveLength(0)
    }
    expect(await other.get(`${prefix}garbage:fence`)).toBe('not-a-number')
    // Once the counter is repaired, the key can be locked again.
    await other.del(`${prefix}garbage:fence`)
    const lock = await locks.acquire('garbage', { ttlMs: 5000 })
    expect(lock.fence).toBe(1)
    expect(await lock.release()).toBe('released')
  })

  it('validates its options when called', () => {
    const shutdown = testShutdown()
    expect(() => createLocks(shutdown, redis, { timeoutMs: -1 })).toThrow(InvalidDurationError)
    expect(() => createLocks(shutdown, redis, { batchSize: 0 })).toThrow(InvalidOptionError)
    expect(() => createLocks(shutdown, {} as Redis)).toThrow(InvalidOptionError)
    const locks = createLocks(shutdown, redis, { keyPrefix: prefix })
    expect(() => createLocks(shutdown, redis)).toThrow(DuplicateRegistrationError)
    return Promise.all([
      expect(locks.acquire('x', { ttlMs: 0 })).rejects.toThrow(InvalidDurationError),
      expect(locks.acquire('x', { ttlMs: Number.NaN })).rejects.toThrow(InvalidDurationError),
      expect(locks.acquire('x', { ttlMs: Number.POSITIVE_INFINITY })).rejects.toThrow(InvalidDurationError),
      expect(locks.acquire('x', { ttlMs: 1000, waitMs: -5 })).rejects.toThrow(InvalidDurationError),
      expect(locks.acquire('', { ttlMs: 1000 })).rejects.toThrow(InvalidOptionError),
    ])
  })
})
