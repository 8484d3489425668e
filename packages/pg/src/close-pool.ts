import { checkOptions, InvalidOptionError, requireDuration, type Shutdown } from '@lameduck/core'
import type { Pool } from 'pg'
import { PG_DEFAULTS } from './defaults.js'
import { type PoolCloseStats, PoolClosingError, PoolForcedError } from './errors.js'
import { destroyClient, internalsOf, isPgPool } from './internals.js'
import { waitFor } from './timing.js'
import { boolean, isPool, nonEmptyString, orDefault, poolError, requireShutdown } from './validate.js'

/** Options of {@link closePool}. */
export interface ClosePoolOptions {
  /** Task name. Default: `'pg-pool'` (`'pg-pool-2'`, … for further pools of the same coordinator). */
  name?: string
  /** Budget of the close task: how long checked-out clients may take to be released. Default: 5000. */
  timeoutMs?: number
  /** Whether destroyed connections make the exit code non-zero. Default: `true`. */
  critical?: boolean
}

/** What {@link closePool} returns. */
export interface PoolCloser {
  readonly pool: Pool
  /** Statistics of the close, once it has run. */
  readonly stats: PoolCloseStats | undefined
  /** Unregisters the close task (a no-op once the `close` phase has started). */
  remove(): void
}

const taskNames = new WeakMap<Shutdown, number>()
const CLOSE_POOL_OPTIONS: readonly (keyof ClosePoolOptions)[] = ['name', 'timeoutMs', 'critical']

/**
 * Registers the graceful close of a `pg` pool in the `close` phase. When the task starts:
 *
 * 1. new checkouts stop: `pool.connect()` and `pool.query()` reject with {@link PoolClosingError};
 * 2. `connect()` calls queued for a client (pg would never settle them) are rejected with it too;
 * 3. `pool.end()` is called — exactly once: not at all if the application already called it;
 * 4. checked-out clients get until a little before the task's deadline to be released (queries in flight
 *    complete normally); idle clients are closed at once;
 * 5. whatever is still checked out then is destroyed, and the task fails with {@link PoolForcedError}
 *    (`LAMEDUCK_ERR_POOL_FORCED`) saying how many.
 *
 * Relies on pg-pool's internals (`_clients`, `_idle`, `_pendingQueue`, `ending`, `ended`) of pg 8.
 *
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * closePool(shutdown, pool, { timeoutMs: 3000 })
 */
export function closePool(shutdown: Shutdown, pool: Pool, options: ClosePoolOptions = {}): PoolCloser {
  requireShutdown('closePool', shutdown)
  if (!isPgPool(pool))
    throw isPool(pool)
      ? new InvalidOptionError(
          'pool argument of closePool',
          "expected a pg 8 Pool: this pool lacks pg-pool's internals (_clients, _idle, _pendingQueue) that closePool relies on",
        )
      : poolError('closePool', pool, ' (pg 8)')
  checkOptions('closePool', options, CLOSE_POOL_OPTIONS)
  const timeoutMs = requireDuration('timeoutMs of closePool', orDefault(options.timeoutMs, PG_DEFAULTS.poolTimeoutMs))
  const critical = boolean('critical of closePool', orDefault(options.critical, PG_DEFAULTS.critical))
  const count = (taskNames.get(shutdown) ?? 0) + 1
  const name = nonEmptyString(
    'name of closePool',
    orDefault(options.name, count === 1 ? PG_DEFAULTS.poolTaskName : `${PG_DEFAULTS.poolTaskName}-${count}`),
  )
  let stats: PoolCloseStats | undefined

  const remove = shutdown.addTask({
    name,
    phase: 'close',
    timeoutMs,
    critical,
    run: async (_signal, context) => {
      const start = Date.now()
      const internals = internalsOf(pool)
      refuseCheckouts(pool)

      const idleAtStart = internals._idle.length
      const checkedOutAtStart = internals._clients.length - idleAtStart
      const queued = internals._pendingQueue.splice(0)
      for (const item of queued) item.callback(new PoolClosingError(), undefined, () => {})

      const endedByUser = internals.ending
      if (!endedByUser)
        pool
          .end()
          .catch((error: unknown) =>
            shutdown.logger.warn({ event: 'pg.pool.end.error', task: name, error: String(error) }, 'pool.end() failed'),
          )

      const cutoff = context.stopAt()
      const ended = await waitFor(() => internals.ended, cutoff, PG_DEFAULTS.pollMs)
      const current = {
        checkedOutAtStart,
        idleAtStart,
        queuedRejected: queued.length,
        endedByUser,
      }
      if (ended) {
        stats = { ...current, forced: 0, durationMs: Date.now() - start }
        shutdown.logger.info(
          { event: 'pg.pool.closed', task: name, ...stats },
          `${name}: pool closed in ${stats.durationMs} ms`,
        )
        return
      }

      const left = [...internals._clients]
      for (const client of left) destroyClient(client)
      // The pool waits for these clients to be released, which may never happen: forget them so that it
      // ends now. A later `client.release()` by the application is harmless (pg-pool ends the client again).
      internals._clients = internals._clients.filter((client) => !left.includes(client))
      if (internals.ending && !internals.ended && typeof internals._pulseQueue === 'function') internals._pulseQueue()
      stats = { ...current, forced: left.length, durationMs: Date.now() - start }
      throw new PoolForcedError(stats)
    },
  })
  taskNames.set(shutdown, count)

  return {
    pool,
    get stats() {
      return stats
    },
    remove: remove.remove,
  }
}

/** Replaces `pool.connect` (which `pool.query` uses too) by one that rejects with `PoolClosingError`. */
function refuseCheckouts(pool: Pool): void {
  const refuse = (callback?: unknown) => {
    const error = new PoolClosingError()
    if (typeof callback === 'function') {
      ;(callback as (error: Error) => void)(error)
      return undefined
    }
    return Promise.reject(error)
  }
  Object.defineProperty(pool, 'connect', { value: refuse, configurable: true, writable: true })
}
