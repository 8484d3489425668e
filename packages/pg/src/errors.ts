import { LameduckError } from '@lameduck/core'

/**
 * `pool.connect()` or `pool.query()` was called after `closePool`'s task started, or was waiting in the
 * pool's queue when it started. Code `LAMEDUCK_ERR_POOL_CLOSING`.
 */
export class PoolClosingError extends LameduckError {
  constructor() {
    super(
      'LAMEDUCK_ERR_POOL_CLOSING',
      'the PostgreSQL pool is closing for shutdown: no new connection can be checked out',
    )
  }
}

/** What the pool close did; see {@link PoolForcedError} and `PoolCloser.stats`. */
export interface PoolCloseStats {
  /** Clients checked out (or connecting) when the close started. */
  checkedOutAtStart: number
  /** Idle clients when the close started (closed at once by `pool.end()`). */
  idleAtStart: number
  /** `connect()` / `query()` calls that were waiting for a client and were rejected with `PoolClosingError`. */
  queuedRejected: number
  /** Clients still checked out at the deadline, whose connections were destroyed. */
  forced: number
  /** True when `pool.end()` had already been called by the application (it is never called twice). */
  endedByUser: boolean
  durationMs: number
}

/**
 * Clients were still checked out just before the close task's deadline: their connections were destroyed
 * (their queries, if any, fail with "Connection terminated"). Code `LAMEDUCK_ERR_POOL_FORCED`.
 */
export class PoolForcedError extends LameduckError {
  constructor(readonly stats: PoolCloseStats) {
    super(
      'LAMEDUCK_ERR_POOL_FORCED',
      `destroyed ${stats.forced} PostgreSQL connection(s) still checked out at the close deadline ` +
        `(${stats.checkedOutAtStart} checked out at start, ${stats.queuedRejected} queued connect(s) rejected, ` +
        `${stats.durationMs} ms)`,
    )
  }
}

/** `acquire` could not get the lock within `waitMs`: another session holds it. Code `LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT`. */
export class AdvisoryLockTimeoutError extends LameduckError {
  constructor(
    readonly key: string | number | bigint,
    readonly id: bigint,
    readonly waitMs: number,
  ) {
    super(
      'LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT',
      `advisory lock ${describeKey(key)} (id ${id}) is held by another session; not acquired within ${waitMs} ms`,
    )
  }
}

/**
 * `acquire` was called once the release task had started: no new lock is taken during shutdown.
 * Code `LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED`.
 */
export class AdvisoryLocksClosedError extends LameduckError {
  constructor() {
    super('LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED', 'advisory locks are being released for shutdown: no new lock is taken')
  }
}

/**
 * The release task could not unlock in time (or the unlock failed): the dedicated connection was destroyed,
 * so PostgreSQL frees the locks when it notices the session is gone. Code `LAMEDUCK_ERR_ADVISORY_UNLOCK_FAILED`.
 */
export class AdvisoryUnlockError extends LameduckError {
  constructor(
    readonly held: number,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      'LAMEDUCK_ERR_ADVISORY_UNLOCK_FAILED',
      timedOut
        ? `could not release ${held} advisory lock(s) before the deadline; destroyed the dedicated connection ` +
            '(PostgreSQL releases session locks once it notices the session is gone)'
        : `releasing ${held} advisory lock(s) failed; destroyed the dedicated connection ` +
            '(PostgreSQL releases session locks once it notices the session is gone)',
      options,
    )
  }
}

function describeKey(key: string | number | bigint): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key)
}
