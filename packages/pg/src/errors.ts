import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/pg` throws or records, each with its class. */
export const PG_ERROR_CODES = [
  /** {@link PoolClosingError} */
  'LAMEDUCK_ERR_POOL_CLOSING',
  /** {@link PoolForcedError} */
  'LAMEDUCK_ERR_POOL_FORCED',
  /** {@link AdvisoryLockTimeoutError} */
  'LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT',
  /** {@link AdvisoryLocksClosedError} */
  'LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED',
  /** {@link AdvisoryUnlockError} */
  'LAMEDUCK_ERR_ADVISORY_UNLOCK_FAILED',
] as const

/** The warning codes `@lameduck/pg` emits (`shutdown.on('warning')` and the log). */
export const PG_WARNING_CODES = [
  /** The advisory locks' dedicated connection failed while the application ran: its locks are lost. */
  'LAMEDUCK_WARN_ADVISORY_LOCKS_LOST',
  /** The advisory locks' connection goes through a transaction-mode pooler, where session locks are unsafe. */
  'LAMEDUCK_WARN_TRANSACTION_POOLER',
  /** `closePool` was given a pool without pg-pool's internals: it falls back to `pool.end()` alone. */
  'LAMEDUCK_WARN_POOL_INTERNALS',
] as const

/**
 * `pool.connect()` or `pool.query()` was called after `closePool`'s task started, or was waiting in the
 * pool's queue when it started. Code `LAMEDUCK_ERR_POOL_CLOSING`.
 */
export class PoolClosingError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_POOL_CLOSING'

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
  /**
   * Clients still checked out at the deadline, whose connections were destroyed (or, for a pool without
   * pg-pool's internals, left as they were: see `LAMEDUCK_WARN_POOL_INTERNALS`).
   */
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
  declare readonly code: 'LAMEDUCK_ERR_POOL_FORCED'

  constructor(
    readonly stats: PoolCloseStats,
    /** False when the pool lacked pg-pool's internals: the connections could not be destroyed. */
    readonly destroyed = true,
  ) {
    super(
      'LAMEDUCK_ERR_POOL_FORCED',
      `${destroyed ? 'destroyed' : 'could not destroy (this pool lacks pg-pool 3 internals)'} ${stats.forced} ` +
        'PostgreSQL connection(s) still checked out at the close deadline ' +
        `(${stats.checkedOutAtStart} checked out at start, ${stats.queuedRejected} queued connect(s) rejected, ` +
        `${stats.durationMs} ms)`,
    )
  }
}

/** `acquire` could not get the lock within `waitMs`: another session holds it. Code `LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT`. */
export class AdvisoryLockTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ADVISORY_LOCK_TIMEOUT'

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
 * `acquire` was called, or was waiting, once the shutdown had started: no new lock is taken during shutdown.
 * Code `LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED`.
 */
export class AdvisoryLocksClosedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED'

  constructor() {
    super(
      'LAMEDUCK_ERR_ADVISORY_LOCKS_CLOSED',
      'the shutdown has started: no new advisory lock is taken, and those held are released',
    )
  }
}

/**
 * The release task could not unlock in time (or the unlock failed): the dedicated connection was destroyed,
 * so PostgreSQL frees the locks when it notices the session is gone. Code `LAMEDUCK_ERR_ADVISORY_UNLOCK_FAILED`.
 */
export class AdvisoryUnlockError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ADVISORY_UNLOCK_FAILED'

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

/** A code of {@link PG_ERROR_CODES}. */
export type PgErrorCode = (typeof PG_ERROR_CODES)[number]
/** A code of {@link PG_WARNING_CODES}. */
export type PgWarningCode = (typeof PG_WARNING_CODES)[number]
