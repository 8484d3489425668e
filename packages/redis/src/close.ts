import { checkOptions, type Registration, requireDuration, type Shutdown } from '@lameduck/core'
import { REDIS_DEFAULTS } from './defaults.js'
import { RedisQuitError, RedisQuitTimeoutError, RedisUnavailableError } from './errors.js'
import type { RedisClient } from './scripts.js'
import { settledBefore } from './timing.js'
import { boolean, nonEmptyString, orDefault, requireRedisClient, requireShutdown } from './validate.js'

/** Options of {@link closeRedis}. */
export interface CloseRedisOptions {
  /** Task name. Default: `'redis-quit'`. */
  name?: string
  /** Budget of the task: how long `QUIT` may take. Default: 2000. */
  timeoutMs?: number
  /** Whether a forced disconnect makes the exit code non-zero. Default: `true`. */
  critical?: boolean
}

/**
 * Closes `client` in the `close` phase: `QUIT`, so that the replies to every command already sent arrive
 * first, then waits for the connection to end. When `QUIT` fails, or gets no answer a little before the
 * task's deadline, the connection is dropped with `disconnect()` and the task fails with
 * `RedisQuitTimeoutError` / `RedisQuitError`. A client that is not connected (reconnecting, Redis down)
 * is disconnected at once instead of queueing a `QUIT` that would never be sent; if it held commands in
 * its offline queue, those are dropped and the task fails with `RedisUnavailableError`.
 *
 * @returns a function that unregisters the task.
 */
export function closeRedis(shutdown: Shutdown, client: RedisClient, options: CloseRedisOptions = {}): Registration {
  requireShutdown('closeRedis', shutdown)
  requireRedisClient('closeRedis', 'client', client, ['quit', 'disconnect', 'once'])
  checkOptions('closeRedis', options, CLOSE_OPTIONS)
  const name = nonEmptyString('name of closeRedis', orDefault(options.name, REDIS_DEFAULTS.quitTaskName))
  const timeoutMs = requireDuration(
    'timeoutMs of closeRedis',
    orDefault(options.timeoutMs, REDIS_DEFAULTS.quitTimeoutMs),
  )
  const critical = boolean('critical of closeRedis', orDefault(options.critical, REDIS_DEFAULTS.critical))
  return shutdown.addTask({
    name,
    phase: 'close',
    timeoutMs,
    critical,
    run: async (signal, context) => {
      const status = client.status
      if (status === 'end') return
      if (status !== 'ready') {
        // Never QUIT here: ioredis would queue it until a reconnect that may never come. (A client disconnected
        // while waiting to reconnect keeps the status 'reconnecting' but makes no further attempt.)
        const dropped = queuedOffline(client)
        client.disconnect()
        if (dropped > 0) throw new RedisUnavailableError(status, dropped)
        shutdown.logger.info(
          { event: 'redis.disconnected', task: name, status },
          `${name}: client was not connected (${status}); disconnected`,
        )
        return
      }
      const budgetMs = context.remainingMs()
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
      const quit = client.quit().then(() => ended)
      if (!(await settledBefore(quit, context.stopAt(), signal))) {
        client.disconnect()
        throw new RedisQuitTimeoutError(budgetMs)
      }
      try {
        await quit
      } catch (error) {
        client.disconnect()
        throw new RedisQuitError(error)
      }
      shutdown.logger.info({ event: 'redis.quit', task: name }, `${name}: connection closed`)
    },
  })
}

const CLOSE_OPTIONS: readonly (keyof CloseRedisOptions)[] = ['name', 'timeoutMs', 'critical']

/** Commands the client holds while it is not connected (ioredis keeps no public count of them). */
function queuedOffline(client: RedisClient): number {
  const queue = (client as unknown as { offlineQueue?: { length?: unknown } }).offlineQueue
  return typeof queue?.length === 'number' ? queue.length : 0
}
