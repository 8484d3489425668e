// The ioredis internals this package reads (src/internals.ts), on a real client: what they give, and the
// fallback when a version of ioredis no longer has them.
import { closeRedis } from '@lameduck/redis'
import { Redis } from 'ioredis'
import { expect, it, vi } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { queuedOffline, rejectQueued } from '../src/internals.js'
import { closedPort } from './helpers.js'

it('counts the commands queued offline, or says it cannot; closeRedis then disconnects without guessing', async () => {
  const down = new Redis({ port: await closedPort(), host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  down.on('error', () => {})
  try {
    expect(queuedOffline(down)).toBe(0)
    const queued = down.set('lameduck-test:never', 'v').catch((error: Error) => error)
    expect(queuedOffline(down)).toBe(1)

    // A client without the private offline queue (another ioredis): the count is unknown, not 0.
    const unreadable = hiding(down, 'offlineQueue')
    expect(queuedOffline(unreadable)).toBeUndefined()
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger })
    closeRedis(shutdown, unreadable)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'redis-quit').outcome).toBe('ok')
    expect(logger.entries.find((entry) => entry.fields.event === 'redis.disconnected')?.fields).toMatchObject({
      dropped: 'unknown',
    })
    // Disconnected: the queued command fails instead of waiting for a connection.
    expect(await queued).toBeInstanceOf(Error)
    // An attempt under way at the disconnect settles ('connecting' for a moment), and none follows it.
    await vi.waitFor(() => expect(['end', 'reconnecting']).toContain(down.status), { timeout: 2_000 })
  } finally {
    down.disconnect()
  }
})

it('rejects the commands a client still holds, or says it cannot (a client without flushQueue)', async () => {
  const down = new Redis({ port: await closedPort(), host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  down.on('error', () => {})
  try {
    const queued = down.set('lameduck-test:never', 'v').catch((error: Error) => error)
    expect(rejectQueued(hiding(down, 'flushQueue'), new Error('nope'))).toBe(false)
    expect(queuedOffline(down)).toBe(1)
    const reason = new Error('the shutdown closed it')
    expect(rejectQueued(down, reason)).toBe(true)
    expect(await queued).toBe(reason)
    expect(queuedOffline(down)).toBe(0)
  } finally {
    down.disconnect()
  }
})
