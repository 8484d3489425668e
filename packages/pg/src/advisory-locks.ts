import { checkOptions, requireDuration, type Shutdown } from '@lameduck/core'
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
import { PG_DEFAULTS } from './defaults.js'
import { AdvisoryLocksClosedError, AdvisoryLockTimeoutError, AdvisoryUnlockError } from './errors.js'
import { destroyClient } from './internals.js'
import { advisoryLockId } from './lock-id.js'
import { settleBefore, sleep } from './timing.js'
import {
  boolean,
  nonEmptyString,
  optionalSignal,
  orDefault,
  positiveDuration,
  requirePool,
  requireShutdown,
} from './validate.js'

/** Options of {@link createAdvisoryLocks}. */
export interface AdvisoryLocksOptions {
  /** Task name. Default: `'pg-advisory-locks'` (`'pg-advisory-locks-2'`, … for further instances). */
  name?: string
  /** Budget of the `release`-phase task. Default: 2000. */
  timeoutMs?: number
  /** Whether a failed release makes the exit code non-zero. Default: `true`. */
  critical?: boolean
  /** Pause between two attempts while `acquire` waits for a lock. Default: 50. */
  retryMs?: number
}

/** Options of {@link AdvisoryLocks.acquire}. */
export interface AcquireOptions {
  /** How long to retry while another session holds the lock; 0 tries once. Default: 0. */
  waitMs?: number
  /** Stops waiting (rejecting with `signal.reason`) when it aborts. */
  signal?: AbortSignal
}

/** A session advisory lock held on the dedicated connection. */
export interface AdvisoryLock {
  /** The key given to `acquire`. */
  readonly key: string | number | bigint
  /** The 64-bit lock id passed to PostgreSQL (see {@link advisoryLockId}). */
  readonly id: bigint
  /**
   * Unlocks it (`pg_advisory_unlock`). Idempotent: resolves to `true` the first time if PostgreSQL had
   * the lock, `false` afterwards or when the lock was already gone (connection lost, shutdown).
   */
  release(): Promise<boolean>
  /** `release()`, for `await using lock = await locks.acquire(key)`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** What {@link createAdvisoryLocks} returns. */
export interface AdvisoryLocks {
  /**
   * Takes the session advisory lock of `key` (`pg_try_advisory_lock`), retrying every `retryMs` for up to
   * `waitMs`. Rejects with {@link AdvisoryLockTimeoutError} when another session — or another holder in
   * this process: a key is held at most once per instance — keeps it, and with
   * {@link AdvisoryLocksClosedError} once the release task has started.
   */
  acquire(key: string | number | bigint, options?: AcquireOptions): Promise<AdvisoryLock>
  /** The locks held right now. */
  held(): AdvisoryLock[]
  /** Unregisters the release task (a no-op once the `release` phase has started). */
  remove(): void
}

const taskNames = new WeakMap<Shutdown, number>()
const LOCKS_OPTIONS: readonly (keyof AdvisoryLocksOptions)[] = ['name', 'timeoutMs', 'critical', 'retryMs']
const ACQUIRE_OPTIONS: readonly (keyof AcquireOptions)[] = ['waitMs', 'signal']

/**
 * Session advisory locks on ONE dedicated connection, checked out from `pool` at the first `acquire` and
 * kept; a `release`-phase task unlocks them all (`pg_advisory_unlock_all()`) and gives the connection back
 * — or destroys it when PostgreSQL does not answer in time, so PostgreSQL frees them when it notices.
 *
 * Session locks need a session: behind a transaction-mode pooler (pgbouncer `pool_mode = transaction`)
 * consecutive statements may run on different server connections, and locks end up held by someone else's
 * session. When the dedicated connection is set up, `SELECT pg_backend_pid()` runs twice: different pids
 * reveal such a pooler and `LAMEDUCK_WARN_TRANSACTION_POOLER` is warned (the same pid proves nothing).
 *
 * @example
 * const locks = createAdvisoryLocks(shutdown, pool)
 * await using lock = await locks.acquire('nightly-report', { waitMs: 1000 })
 */
export function createAdvisoryLocks(shutdown: Shutdown, pool: Pool, options: AdvisoryLocksOptions = {}): AdvisoryLocks {
  requireShutdown('createAdvisoryLocks', shutdown)
  requirePool('createAdvisoryLocks', pool, ', to check the dedicated connection out of')
  checkOptions('createAdvisoryLocks', options, LOCKS_OPTIONS)
  const retryMs = positiveDuration('retryMs of createAdvisoryLocks', orDefault(options.retryMs, PG_DEFAULTS.retryMs))
  const timeoutMs = requireDuration(
    'timeoutMs of createAdvisoryLocks',
    orDefault(options.timeoutMs, PG_DEFAULTS.locksTimeoutMs),
  )
  const critical = boolean('critical of createAdvisoryLocks', orDefault(options.critical, PG_DEFAULTS.critical))
  const count = (taskNames.get(shutdown) ?? 0) + 1
  const name = nonEmptyString(
    'name of createAdvisoryLocks',
    orDefault(options.name, count === 1 ? PG_DEFAULTS.locksTaskName : `${PG_DEFAULTS.locksTaskName}-${count}`),
  )
  const locks = new Locks(shutdown, pool, name, retryMs)

  const remove = shutdown.addTask({
    name,
    phase: 'release',
    timeoutMs,
    critical,
    run: (_signal, context) => locks.releaseAll(context.stopAt()),
  })
  taskNames.set(shutdown, count)

  return {
    acquire: (key, acquireOptions) => locks.acquire(key, acquireOptions),
    held: () => [...locks.held],
    remove: remove.remove,
  }
}

class Lock implements AdvisoryLock {
  released = false

  constructor(
    private readonly owner: Locks,
    readonly key: string | number | bigint,
    readonly id: bigint,
  ) {}

  release(): Promise<boolean> {
    return this.owner.release(this)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }
}

class Locks {
  readonly held = new Set<Lock>()
  /** Ids held or being tried, as strings: a key is held at most once per instance. */
  readonly #busy = new Set<string>()
  #client: PoolClient | undefined
  #connecting: Promise<PoolClient> | undefined
  #closed = false
  #tail: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly shutdown: Shutdown,
    private readonly pool: Pool,
    private readonly name: string,
    private readonly retryMs: number,
  ) {}

  async acquire(key: string | number | bigint, options: AcquireOptions = {}): Promise<Lock> {
    const id = advisoryLockId(key)
    checkOptions('acquire', options, ACQUIRE_OPTIONS)
    const waitMs = requireDuration('waitMs of acquire', orDefault(options.waitMs, PG_DEFAULTS.waitMs))
    optionalSignal('signal of acquire', options.signal)
    const until = Date.now() + waitMs
    const slot = id.toString()
    for (;;) {
      options.signal?.throwIfAborted()
      if (this.#closed) throw new AdvisoryLocksClosedError()
      if (!this.#busy.has(slot)) {
        const client = await this.#connection()
        if (this.#closed) throw new AdvisoryLocksClosedError()
        // Checked and sent synchronously: nothing else can take the slot in between, and a release task
        // starting later sends its unlock after this statement on the same connection.
        if (!this.#busy.has(slot)) {
          this.#busy.add(slot)
          let locked = false
          try {
            const result = await this.#query<{ locked: boolean }>(
              client,
              'SELECT pg_try_advisory_lock($1::bigint) AS locked',
              [slot],
            )
            locked = result.rows[0]?.locked === true
          } finally {
            if (!locked) this.#busy.delete(slot)
          }
          if (locked) {
            if (this.#closed || this.#client !== client) {
              // The release task started (or the connection was lost) while we asked: the lock is being freed.
              this.#busy.delete(slot)
              throw new AdvisoryLocksClosedError()
            }
            const lock = new Lock(this, key, id)
            this.held.add(lock)
            return lock
          }
        }
      }
      const left = until - Date.now()
      if (left <= 0) throw new AdvisoryLockTimeoutError(key, id, waitMs)
      await sleep(Math.min(this.retryMs, left), options.signal)
    }
  }

  async release(lock: Lock): Promise<boolean> {
    if (lock.released) return false
    lock.released = true
    this.held.delete(lock)
    const client = this.#client
    const slot = lock.id.toString()
    if (!client) {
      this.#busy.delete(slot)
      return false
    }
    // Sent before the slot is freed: a later acquire of the same key is queued behind this unlock.
    const unlocking = this.#query<{ unlocked: boolean }>(client, 'SELECT pg_advisory_unlock($1::bigint) AS unlocked', [
      slot,
    ])
    this.#busy.delete(slot)
    const result = await unlocking
    return result.rows[0]?.unlocked === true
  }

  /** The release task: unlocks everything and gives the connection back before `cutoff`, or destroys it. */
  async releaseAll(cutoff: number): Promise<void> {
    this.#closed = true
    const held = this.held.size
    let client = this.#client
    if (!client && this.#connecting) {
      // Being set up: wait for it (bounded); if it comes later, #connection() gives it back itself.
      const settled = await settleBefore(
        this.#connecting.catch(() => undefined),
        cutoff,
      )
      client = settled.done ? settled.value : undefined
    }
    this.#forgetLocks()
    if (!client) return
    this.#client = undefined
    client.removeListener('error', this.#onError)
    try {
      const settled = await settleBefore(this.#query(client, 'SELECT pg_advisory_unlock_all()'), cutoff)
      if (!settled.done) throw new AdvisoryUnlockError(held, true)
    } catch (error) {
      destroyClient(client)
      client.release(error instanceof Error ? error : new Error(String(error)))
      if (error instanceof AdvisoryUnlockError) throw error
      throw new AdvisoryUnlockError(held, false, { cause: error })
    }
    client.release()
    this.shutdown.logger.info(
      { event: 'pg.advisory.released', task: this.name, held },
      `${this.name}: released ${held} advisory lock(s)`,
    )
  }

  /**
   * Runs a statement on the dedicated connection after those queued before it (pg deprecates concurrent
   * `client.query` calls). Queued synchronously, so statements run in the order of the calls.
   */
  #query<R extends QueryResultRow = QueryResultRow>(
    client: PoolClient,
    text: string,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    const result = this.#tail.then(() => client.query<R>(text, values))
    this.#tail = result.catch(() => {})
    return result
  }

  #forgetLocks(): void {
    for (const lock of this.held) lock.released = true
    this.held.clear()
    this.#busy.clear()
  }

  #connection(): Promise<PoolClient> {
    if (this.#client) return Promise.resolve(this.#client)
    if (!this.#connecting) {
      const connecting = this.#connect()
      this.#connecting = connecting
      const reset = () => {
        if (this.#connecting === connecting) this.#connecting = undefined
      }
      connecting.then(reset, reset)
    }
    return this.#connecting
  }

  async #connect(): Promise<PoolClient> {
    const client = await this.pool.connect()
    client.on('error', this.#onError)
    try {
      const first = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      const second = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      const pids = [first.rows[0]?.pid, second.rows[0]?.pid]
      if (pids[0] !== pids[1])
        this.shutdown.warn({
          code: 'LAMEDUCK_WARN_TRANSACTION_POOLER',
          message:
            `${this.name}: two statements on the same connection ran in different backends (pids ${pids[0]} and ` +
            `${pids[1]}): a transaction-mode pooler (e.g. pgbouncer pool_mode=transaction) is in between, and ` +
            'session advisory locks are unsafe behind it. Connect the locks to PostgreSQL directly or through a ' +
            'session-mode pool.',
          details: { pids },
        })
    } catch (error) {
      client.removeListener('error', this.#onError)
      client.release(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
    if (this.#closed) {
      client.removeListener('error', this.#onError)
      client.release()
      throw new AdvisoryLocksClosedError()
    }
    this.#client = client
    this.#tail = Promise.resolve()
    return client
  }

  /** The dedicated connection died: PostgreSQL has ended its session, and with it every lock. */
  readonly #onError = (error: Error): void => {
    const client = this.#client
    if (!client) return
    this.#client = undefined
    client.removeListener('error', this.#onError)
    const lost = this.held.size
    this.#forgetLocks()
    client.release(error)
    if (lost > 0)
      this.shutdown.warn({
        code: 'LAMEDUCK_WARN_ADVISORY_LOCKS_LOST',
        message: `${this.name}: the dedicated connection failed (${error.message}); its ${lost} advisory lock(s) are lost`,
        details: { lost },
      })
  }
}
