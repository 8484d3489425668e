import type { Clock, Shutdown } from '@lameduck/core'
/**
 * What releasing a lock found: `'released'` — unlocked by this release, or already by the release task —
 * or `'lost'`: PostgreSQL no longer had it (its session ended: the connection failed or was destroyed), and
 * nothing was unlocked. The same union as `@lameduck/redis`'s.
 */
import type { ReleaseOutcome } from '@lameduck/core/adapter'
import {
  type AdapterTaskOptions,
  checkOptions,
  duration,
  lockRetry,
  optionalSignal,
  type Registration,
  registerTask,
  requireShutdown,
  settleBy,
  TASK_OPTION_KEYS,
  TriggerStop,
  taskOptions,
} from '@lameduck/core/adapter'
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
import { requirePool } from './arguments.js'
import { PG_DEFAULTS } from './defaults.js'
import { AdvisoryLocksClosedError, AdvisoryLockTimeoutError, AdvisoryUnlockError } from './errors.js'
import { destroyClient } from './internals.js'
import { advisoryLockId } from './lock-id.js'

export type { ReleaseOutcome }

/**
 * Options of {@link createAdvisoryLocks}. Also the task options every adapter takes — `name`, `phase`,
 * `timeoutMs` (the release task's budget) and `critical` (whether a failed release makes the exit code
 * non-zero) — with their defaults in {@link PG_DEFAULTS}`.locks`.
 */
export interface AdvisoryLocksOptions extends AdapterTaskOptions {
  /**
   * Mean delay between attempts of a waiting `acquire` (each jittered by {@link PG_DEFAULTS}`.retryJitter`);
   * greater than 0. Default: {@link PG_DEFAULTS}`.retryDelayMs`.
   */
  retryDelayMs?: number
}

/** Options of {@link AdvisoryLocks.acquire}. */
export interface AdvisoryAcquireOptions {
  /** How long to retry while another session holds the lock; 0: one attempt. Default: {@link PG_DEFAULTS}`.waitMs`. */
  waitMs?: number
  /** Stops waiting (rejecting with `signal.reason`) when it aborts. */
  signal?: AbortSignal
}

/** A session advisory lock held on the dedicated connection. */
export interface AdvisoryLock extends AsyncDisposable {
  /** The key given to `acquire`. */
  readonly key: string | number | bigint
  /** The 64-bit lock id passed to PostgreSQL (see {@link advisoryLockId}). */
  readonly id: bigint
  /**
   * Unlocks it (`pg_advisory_unlock`). Idempotent: every call gets the same {@link ReleaseOutcome}. Rejects
   * when the unlock fails — the connection failed, which ends the session and the lock with it: further
   * calls resolve `'lost'`.
   */
  release(): Promise<ReleaseOutcome>
  /** `release()`, for `await using lock = await locks.acquire(key)`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * What {@link createAdvisoryLocks} returns: the registration of the release task (`name`, `remove()`,
 * `[Symbol.dispose]`) and the locks.
 */
export interface AdvisoryLocks extends Registration {
  /**
   * Takes the session advisory lock of `key` (`pg_try_advisory_lock`), retrying every `retryDelayMs`
   * (jittered) for up to `waitMs`. Rejects with {@link AdvisoryLockTimeoutError} when another session — or
   * another holder in this process: a key is held at most once per instance — keeps it, and with
   * {@link AdvisoryLocksClosedError} from the first trigger of the shutdown on — a waiting `acquire` is
   * cancelled at once — as every lock adapter does.
   */
  acquire(key: string | number | bigint, options?: AdvisoryAcquireOptions): Promise<AdvisoryLock>
  /**
   * The locks held right now (acquired, not released, not lost with their session), oldest first: a new
   * array at each call. Its `length` is what the `lameduck_locks_held` metric shows.
   */
  held(): readonly AdvisoryLock[]
}

export const LOCKS_OPTIONS: readonly (keyof AdvisoryLocksOptions)[] = [...TASK_OPTION_KEYS, 'retryDelayMs']
export const ACQUIRE_OPTIONS: readonly (keyof AdvisoryAcquireOptions)[] = ['waitMs', 'signal']

/**
 * Session advisory locks on ONE dedicated connection, checked out from `pool` at the first `acquire` and
 * kept; a task (the `release` phase by default) unlocks them all (`pg_advisory_unlock_all()`) and gives the
 * connection back — or destroys it when PostgreSQL does not answer in time, so PostgreSQL frees them when it
 * notices. `remove()` unregisters the task: the locks held stay held, and are no longer released nor
 * refused at shutdown. The same pool given to `createAdvisoryLocks` twice on one coordinator throws
 * `DuplicateRegistrationError`.
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
export function createAdvisoryLocks(shutdown: Shutdown, pool: Pool, options?: AdvisoryLocksOptions): AdvisoryLocks {
  requireShutdown('createAdvisoryLocks', shutdown, 'createAdvisoryLocks(shutdown, pool, options?)')
  requirePool('createAdvisoryLocks', pool)
  checkOptions('createAdvisoryLocks', options, LOCKS_OPTIONS)
  const task = taskOptions('createAdvisoryLocks', options, PG_DEFAULTS.locks)
  const retryDelayMs = duration(
    'retryDelayMs of createAdvisoryLocks',
    options?.retryDelayMs,
    PG_DEFAULTS.retryDelayMs,
    {
      positive: true,
    },
  )
  const locks = new Locks(shutdown, pool, retryDelayMs)
  const registration = registerTask(shutdown, {
    where: 'createAdvisoryLocks',
    task,
    resource: pool,
    resourceLabel: 'this pool',
    run: (_signal, context) => locks.releaseAll(context.stopAt(), context.clock),
    onRemove: () => locks.stop.detach(),
  })
  locks.name = registration.name
  locks.stop.follow(shutdown)
  return {
    ...registration,
    acquire: (key, acquireOptions) => locks.acquire(key, acquireOptions),
    held: () => [...locks.held],
  }
}

class Lock implements AdvisoryLock {
  #outcome: Promise<ReleaseOutcome> | undefined

  constructor(
    private readonly owner: Locks,
    readonly key: string | number | bigint,
    readonly id: bigint,
  ) {}

  release(): Promise<ReleaseOutcome> {
    if (this.#outcome) return this.#outcome
    const outcome = this.owner.release(this)
    this.#outcome = outcome.catch(() => 'lost' as const)
    return outcome
  }

  /** The lock ended without a `release()` of its own: by the release task, or with its session. */
  end(outcome: Promise<ReleaseOutcome>): void {
    this.#outcome ??= outcome
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }
}

class Locks {
  readonly held = new Set<Lock>()
  /** The registered task's name, for the log and the warnings. */
  name = ''
  /** Ids held or being tried, as strings: a key is held at most once per instance. */
  readonly #busy = new Set<string>()
  #client: PoolClient | undefined
  #connecting: Promise<PoolClient> | undefined
  #closed = false
  #tail: Promise<unknown> = Promise.resolve()
  /** Aborts at the first trigger: no new lock from then on, and a waiting one stops. */
  readonly stop = new TriggerStop()

  constructor(
    private readonly shutdown: Shutdown,
    private readonly pool: Pool,
    /** The mean delay between two attempts of a waiting `acquire` (for the kit's `lockRetry`). */
    readonly retryDelayMs: number,
  ) {}

  get stopping(): AbortSignal {
    return this.stop.signal
  }

  get clock(): Clock {
    return this.shutdown.clock
  }

  async acquire(key: string | number | bigint, options: AdvisoryAcquireOptions = {}): Promise<Lock> {
    const id = advisoryLockId(key)
    checkOptions('acquire', options, ACQUIRE_OPTIONS)
    const waitMs = duration('waitMs of acquire', options.waitMs, PG_DEFAULTS.waitMs)
    const signal = optionalSignal('signal of acquire', options.signal)
    const slot = id.toString()
    const retry = lockRetry(this, { waitMs, signal, shuttingDown: () => new AdvisoryLocksClosedError() })
    try {
      for (;;) {
        retry.check()
        if (this.#closed) throw new AdvisoryLocksClosedError()
        if (!this.#busy.has(slot)) {
          const lock = await this.#try(key, id)
          if (lock) return lock
        }
        if (!(await retry.pause())) throw new AdvisoryLockTimeoutError(key, id, waitMs)
      }
    } finally {
      retry.dispose()
    }
  }

  /** One attempt: the lock, or `undefined` when another session (or holder) has it. */
  async #try(key: string | number | bigint, id: bigint): Promise<Lock | undefined> {
    const slot = id.toString()
    const client = await this.#connection()
    // The connection may have taken a while (a busy pool): the shutdown may have started meanwhile.
    if (this.#closed || this.stopping.aborted) throw new AdvisoryLocksClosedError()
    // Checked and sent synchronously: nothing else can take the slot in between, and a release task
    // starting later sends its unlock after this statement on the same connection.
    if (this.#busy.has(slot)) return undefined
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
    if (!locked) return undefined
    if (this.#closed || this.#client !== client) {
      // The release task started (or the connection was lost) while we asked: the lock is being freed.
      this.#busy.delete(slot)
      throw new AdvisoryLocksClosedError()
    }
    const lock = new Lock(this, key, id)
    this.held.add(lock)
    return lock
  }

  async release(lock: Lock): Promise<ReleaseOutcome> {
    this.held.delete(lock)
    const client = this.#client
    const slot = lock.id.toString()
    if (!client) {
      this.#busy.delete(slot)
      return 'lost'
    }
    // Sent before the slot is freed: a later acquire of the same key is queued behind this unlock.
    const unlocking = this.#query<{ unlocked: boolean }>(client, 'SELECT pg_advisory_unlock($1::bigint) AS unlocked', [
      slot,
    ])
    this.#busy.delete(slot)
    const result = await unlocking
    return result.rows[0]?.unlocked === true ? 'released' : 'lost'
  }

  /** The release task: unlocks everything and gives the connection back before `cutoff`, or destroys it. */
  async releaseAll(cutoff: number, clock: Clock): Promise<void> {
    this.#closed = true
    const held = this.held.size
    let client = this.#client
    if (!client && this.#connecting) {
      // Being set up: wait for it (bounded); if it comes later, #connection() gives it back itself.
      const settled = await settleBy(
        this.#connecting.catch(() => undefined),
        cutoff,
        { clock },
      )
      client = settled.done ? settled.value : undefined
    }
    let outcome!: (result: ReleaseOutcome) => void
    this.#forgetLocks(new Promise((resolve) => (outcome = resolve)))
    if (!client) return outcome('lost')
    this.#client = undefined
    client.removeListener('error', this.#onError)
    try {
      const settled = await settleBy(this.#query(client, 'SELECT pg_advisory_unlock_all()'), cutoff, { clock })
      if (!settled.done) throw new AdvisoryUnlockError(held, true)
    } catch (error) {
      outcome('lost')
      destroyClient(client)
      client.release(error instanceof Error ? error : new Error(String(error)))
      if (error instanceof AdvisoryUnlockError) throw error
      throw new AdvisoryUnlockError(held, false, { cause: error })
    }
    outcome('released')
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

  /** Every held lock ends with `outcome`, without a statement of its own. */
  #forgetLocks(outcome: Promise<ReleaseOutcome>): void {
    for (const lock of this.held) lock.end(outcome)
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
    this.#forgetLocks(Promise.resolve('lost'))
    client.release(error)
    if (lost > 0)
      this.shutdown.warn({
        code: 'LAMEDUCK_WARN_ADVISORY_LOCKS_LOST',
        message: `${this.name}: the dedicated connection failed (${error.message}); its ${lost} advisory lock(s) are lost`,
        details: { lost },
      })
  }
}
