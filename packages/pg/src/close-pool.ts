import type { Shutdown } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkedTaskOptions,
  poll,
  type Registration,
  registerTask,
  requireShutdown,
} from '@lameduck/core/adapter'
import type { Pool } from 'pg'
import { requirePool } from './arguments.js'
import { PG_DEFAULTS } from './defaults.js'
import { type PoolCloseStats, PoolClosingError, PoolForcedError } from './errors.js'
import { poolControl } from './internals.js'

/**
 * Options of {@link closePool}: the task options every adapter takes — `name`, `phase`, `timeoutMs` (how
 * long checked-out clients may take to be released) and `critical` (whether destroyed connections make the
 * exit code non-zero) — with their defaults in {@link PG_DEFAULTS}`.pool`.
 */
export type ClosePoolOptions = AdapterTaskOptions

/** What {@link closePool} returns: the registration of the close task, and what the close did. */
export interface PoolCloser extends Registration {
  readonly pool: Pool
  /** Statistics of the close, once it has run. */
  readonly stats: PoolCloseStats | undefined
}

/**
 * Registers the graceful close of a `pg` pool (the `close` phase by default). When the task starts:
 *
 * 1. new checkouts stop: `pool.connect()` and `pool.query()` reject with {@link PoolClosingError};
 * 2. `connect()` calls queued for a client (pg would never settle them) are rejected with it too;
 * 3. `pool.end()` is called — exactly once: not at all if the application already called it;
 * 4. checked-out clients get until a little before the task's deadline to be released (queries in flight
 *    complete normally); idle clients are closed at once;
 * 5. whatever is still checked out then is destroyed, and the task fails with {@link PoolForcedError}
 *    (`LAMEDUCK_ERR_POOL_FORCED`) saying how many.
 *
 * Steps 2 and 5 rely on pg-pool's internals (pg 8, see internals.ts). A pool without them is still closed
 * with `pool.end()` — after a `LAMEDUCK_WARN_POOL_INTERNALS` warning at registration — but its queued
 * `connect()` calls are not rejected and clients left checked out cannot be destroyed. The same pool given
 * to `closePool` twice on one coordinator throws `DuplicateRegistrationError`.
 *
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * closePool(shutdown, pool, { timeoutMs: 3000 })
 */
export function closePool(shutdown: Shutdown, pool: Pool, options?: ClosePoolOptions): PoolCloser {
  requireShutdown('closePool', shutdown, 'closePool(shutdown, pool, options?)')
  requirePool('closePool', pool)
  const task = checkedTaskOptions('closePool', options, PG_DEFAULTS.pool)
  const control = poolControl(pool)
  let stats: PoolCloseStats | undefined

  const registration = registerTask(shutdown, {
    where: 'closePool',
    task,
    resource: pool,
    resourceLabel: 'this pool',
    run: async (_signal, context) => {
      const { clock, name } = context
      const start = clock.now()
      refuseCheckouts(pool)
      const { idle: idleAtStart, checkedOut: checkedOutAtStart } = control.counts()
      const queuedRejected = control.rejectQueued(new PoolClosingError())
      const endedByUser = pool.ending
      if (!endedByUser)
        pool
          .end()
          .catch((error: unknown) =>
            shutdown.logger.warn({ event: 'pg.pool.end.error', task: name, error: String(error) }, 'pool.end() failed'),
          )

      const ended = await poll(() => pool.ended, { clock, everyMs: PG_DEFAULTS.pollMs, until: context.stopAt() })
      const current = { checkedOutAtStart, idleAtStart, queuedRejected, endedByUser }
      if (ended) {
        stats = { ...current, forced: 0, durationMs: clock.now() - start }
        shutdown.logger.info(
          { event: 'pg.pool.closed', task: name, ...stats },
          `${name}: pool closed in ${stats.durationMs} ms`,
        )
        return
      }
      const forced = control.destroyCheckedOut()
      stats = { ...current, forced, durationMs: clock.now() - start }
      throw new PoolForcedError(stats, control.complete)
    },
  })
  if (!control.complete)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_POOL_INTERNALS',
      message:
        `${registration.name}: this pool lacks pg-pool's internals (_clients, _idle, _pendingQueue, _pulseQueue of ` +
        'pg 8): it will be closed with pool.end() alone — connect() calls queued at shutdown are not rejected, and ' +
        'clients still checked out at the deadline cannot be destroyed',
      details: { task: registration.name },
    })

  return {
    ...registration,
    pool,
    get stats() {
      return stats
    },
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
