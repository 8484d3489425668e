import { closeRedis, createLocks } from '@lameduck/redis'
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { cleanup, client, closedPort, runPrefix } from './helpers.js'

await describeWith('Redis', '@lameduck/redis closeRedis', () => {
  const prefix = runPrefix()
  afterAll(() => cleanup(prefix))

  it('quits in the close phase after the replies already due', async () => {
    const redis = client()
    await redis.ping()
    const shutdown = testShutdown()
    closeRedis(shutdown, redis)
    const write = redis.set(`${prefix}before-quit`, 'v')
    const report = await shutdown.shutdown()
    expect(await write).toBe('OK')
    expect(report.exitCode).toBe(0)
    expect(taskReport(report, 'redis-quit')).toMatchObject({ phase: 'close', outcome: 'ok' })
    expect(redis.status).toBe('end')
  })

  it('does nothing for a client already closed', async () => {
    const redis = client()
    await redis.quit()
    const shutdown = testShutdown()
    closeRedis(shutdown, redis, { name: 'closed-already' })
    expect((await shutdown.shutdown()).exitCode).toBe(0)
  })

  it('does not hang when Redis is unreachable: disconnects and reports the dropped commands', async () => {
    const port = await closedPort()
    const down = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
    down.on('error', () => {})
    try {
      const shutdown = testShutdown()
      closeRedis(shutdown, down, { timeoutMs: 1000 })
      const locks = createLocks(shutdown, down, { keyPrefix: prefix, timeoutMs: 1000 })
      // Queued offline while the client keeps trying to connect: it will never be sent.
      const queued = down.set(`${prefix}never`, 'v').catch((error: Error) => error)
      const started = Date.now()
      const report = await shutdown.shutdown()
      expect(Date.now() - started).toBeLessThan(1500)
      expect(report.exitCode).not.toBe(0)
      const quit = taskReport(report, 'redis-quit')
      expect(quit).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_REDIS_UNAVAILABLE' })
      // ioredis leaves a client disconnected mid-reconnect in 'reconnecting' (redis/ioredis#2169), but it
      // makes no further attempt.
      // The attempt that was under way when it disconnected may still be settling; none follows it.
      let attempts = 0
      down.on('connecting', () => attempts++)
      await delay(300)
      expect(['end', 'reconnecting']).toContain(down.status)
      expect(attempts).toBe(0)
      // The command queued offline is rejected with the task's reason, not left pending for ever.
      expect(await queued).toMatchObject({ code: 'LAMEDUCK_ERR_REDIS_UNAVAILABLE', dropped: 1 })
      expect(locks.held()).toHaveLength(0)
    } finally {
      down.disconnect()
    }
  })

  it('just disconnects a client that never connected and has nothing queued', async () => {
    const down = new Redis({ port: await closedPort(), lazyConnect: true })
    const shutdown = testShutdown()
    closeRedis(shutdown, down)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(down.status).toBe('end')
  })
})
