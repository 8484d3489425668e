import type { Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  type Registration,
  registerClientTask,
  type Settled,
  settleBy,
} from '@lameduck/core/adapter'
import { requireCoordinator, requireRedisClient } from './arguments.js'
import { REDIS_DEFAULTS } from './defaults.js'
import { RedisQuitError, RedisQuitTimeoutError, RedisUnavailableError } from './errors.js'
import { queuedOffline, rejectQueued } from './internals.js'
import type { RedisClient } from './scripts.js'

/**
 * Options of {@link closeRedis}: the task options every adapter takes (`name`, `phase`, `timeoutMs` — how
 * long `QUIT` may take — and `critical`), defaults in {@link REDIS_DEFAULTS}`.quit`.
 */
export type CloseRedisOptions = AdapterTaskOptions

/**
 * Closes `client` at shutdown (the `close` phase by default): `QUIT`, so that the replies to every command
 * already sent arrive first, then waits for the connection to end. When `QUIT` fails, or gets no answer a
 * little before the task's deadline, the connection is dropped with `disconnect()` and the task fails with
 * `RedisQuitTimeoutError` / `RedisQuitError`. A client that is not connected (reconnecting, Redis down)
 * is disconnected at once instead of queueing a `QUIT` that would never be sent; if it held commands in
 * its offline queue, those are dropped and the task fails with `RedisUnavailableError`.
 *
 * @returns the {@link Registration}: `name`, `remove()` and `[Symbol.dispose]`. The same client given to
 *   `closeRedis` twice on one coordinator throws `DuplicateRegistrationError`.
 */
export function closeRedis(shutdown: Shutdown, client: RedisClient, options?: CloseRedisOptions): Registration {
  requireCoordinator('closeRedis', shutdown, 'closeRedis(shutdown, client, options?)')
  requireRedisClient('closeRedis', client, ['quit', 'disconnect', 'once'])
  return registerClientTask(shutdown, 'closeRedis', client, options, REDIS_DEFAULTS.quit, (signal, context) =>
    quit(shutdown, client, signal, context),
  )
}

/** The task of {@link closeRedis}. */
async function quit(shutdown: Shutdown, client: RedisClient, signal: AbortSignal, context: TaskContext): Promise<void> {
  const task = context.name
  const status = client.status
  if (status === 'end') return
  if (status !== 'ready') {
    // Never QUIT here: ioredis would queue it until a reconnect that may never come. (A client disconnected
    // while waiting to reconnect keeps the status 'reconnecting' but makes no further attempt.)
    const dropped = queuedOffline(client)
    client.disconnect()
    // Their callers get this error instead of waiting for ever on a client that will not reconnect.
    rejectQueued(client, new RedisUnavailableError(status, dropped))
    if (dropped !== undefined && dropped > 0) throw new RedisUnavailableError(status, dropped)
    shutdown.logger.info(
      { event: 'redis.disconnected', task, status, dropped: dropped ?? 'unknown' },
      `${task}: client was not connected (${status}); disconnected` +
        (dropped === undefined ? ' (this ioredis shows no offline queue: dropped commands cannot be counted)' : ''),
    )
    return
  }
  const budgetMs = context.remainingMs()
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
  let settled: Settled<void>
  try {
    settled = await settleBy(
      client.quit().then(() => ended),
      context.stopAt(),
      { clock: context.clock, signal },
    )
  } catch (error) {
    client.disconnect()
    throw new RedisQuitError(error)
  }
  if (!settled.done) {
    client.disconnect()
    throw new RedisQuitTimeoutError(budgetMs)
  }
  shutdown.logger.info({ event: 'redis.quit', task }, `${task}: connection closed`)
}
