import type { Clock, Shutdown } from '@lameduck/core'
/**
 * What releasing a lock found: `'released'` — deleted by this release, or already by `releaseAll()` or the
 * release task — or `'lost'`: it had expired or been taken over before, and nothing was deleted. The same
 * union as `@lameduck/pg`'s.
 */
import type { ReleaseOutcome } from '@lameduck/core/adapter'
import {
  type AdapterTaskOptions,
  checkOptions,
  count,
  optionKeys,
  type Registration,
  registerTask,
  TriggerStop,
  taskOptions,
} from '@lameduck/core/adapter'
import { acquire } from './acquire.js'
import { requireCoordinator, requireRedisClient, text, wholeMs } from './arguments.js'
import { REDIS_DEFAULTS } from './defaults.js'
import type { ReleaseSummary } from './errors.js'
import type { HeldLock } from './held-lock.js'
import { releaseMany, releaseTask } from './release.js'
import { type LockScripts, lockScripts, type RedisClient } from './scripts.js'

export type { ReleaseOutcome }

/**
 * Options of {@link createLocks}. Also the task options every adapter takes — `name`, `phase`, `timeoutMs`
 * (the release task's budget) and `critical` (whether locks left unreleased make the exit code non-zero) —
 * with their defaults in {@link REDIS_DEFAULTS}`.locks`.
 */
export interface RedisLocksOptions extends AdapterTaskOptions {
  /** Prefix of every lock key (and fence key). Default: {@link REDIS_DEFAULTS}`.keyPrefix`. */
  keyPrefix?: string
  /** Releases per pipeline. Default: {@link REDIS_DEFAULTS}`.batchSize`. */
  batchSize?: number
  /**
   * Mean delay between attempts of a waiting `acquire` (each jittered by {@link REDIS_DEFAULTS}`.retryJitter`);
   * greater than 0. Default: {@link REDIS_DEFAULTS}`.retryDelayMs`.
   */
  retryDelayMs?: number
}

/** Options of {@link RedisLocks.acquire}. */
export interface RedisAcquireOptions {
  /** Time to live of the lock in Redis (greater than 0): it expires by itself if this process dies. Required. */
  ttlMs: number
  /** How long to retry while someone else holds the lock; 0: one attempt. Default: {@link REDIS_DEFAULTS}`.waitMs`. */
  waitMs?: number
  /**
   * Extend the lock every `ttlMs /` {@link REDIS_DEFAULTS}`.autoExtendDivisor` while it is held.
   * Default: {@link REDIS_DEFAULTS}`.autoExtend`.
   */
  autoExtend?: boolean
  /** Cancels a waiting `acquire` (it rejects with the signal's reason). */
  signal?: AbortSignal
}

/** A held Redis lock. `await using lock = await locks.acquire(...)` releases it at the end of the block. */
export interface RedisLock extends AsyncDisposable {
  /** The key as given to `acquire` (without the prefix). */
  readonly key: string
  /** The random value stored at the lock key; only this holder can extend or release the lock. */
  readonly token: string
  /**
   * The fencing token: strictly greater than that of every earlier holder of this key. Send it with
   * every write the lock protects and have the storage reject writes carrying a smaller one.
   */
  readonly fence: number
  /**
   * Aborts (with a `LockLostError`) as soon as the lock is known lost: its TTL ran out without an
   * extension, an extension found another holder, or the release found it gone. Not aborted by a release.
   */
  readonly signal: AbortSignal
  /**
   * Sets the lock's TTL to `ttlMs` (default: the `ttlMs` it was acquired with), only if it still holds
   * this token. Resolves `false` (and aborts `signal`) when the lock was lost. Rejects when Redis fails.
   * A shorter `ttlMs` brings the expiry, and so `signal`, forward — from the moment it is sent, and even if
   * it then fails, since Redis may have run it anyway.
   */
  extend(ttlMs?: number): Promise<boolean>
  /**
   * Deletes the lock if it still holds this token — never another holder's lock. Idempotent: every call
   * gets the same {@link ReleaseOutcome}. Rejects when Redis fails (the lock is then still considered held;
   * call again).
   */
  release(): Promise<ReleaseOutcome>
  /** Same as `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * What {@link createLocks} returns: the registration of the release task (`name`, `remove()`,
 * `[Symbol.dispose]`) and the locks.
 */
export interface RedisLocks extends Registration {
  /**
   * Takes the lock `key`: one atomic script sets it if free and hands out the next fencing token
   * (`INCR` of `${keyPrefix}${key}:fence`). Rejects with `LockTimeoutError` when it is still held after
   * `waitMs`, and with `ShuttingDownError` once the shutdown has started (a waiting `acquire` is cancelled
   * at that moment). A lock key (`keyPrefix` + `key`) ending in `:fence` is refused with
   * `InvalidOptionError`: it would be another lock's fence key. When the fence key holds no integer,
   * rejects with `LockFenceError` and leaves the lock key as it was.
   */
  acquire(key: string, options: RedisAcquireOptions): Promise<RedisLock>
  /**
   * The locks held right now (acquired, not released, not known lost), oldest first: a new array at each
   * call. Its `length` is what the `lameduck_locks_held` metric shows.
   */
  held(): readonly RedisLock[]
  /** Releases every held lock now, in pipelined batches. Never rejects: failures are counted. */
  releaseAll(): Promise<ReleaseSummary>
}

export const LOCKS_OPTIONS = optionKeys<RedisLocksOptions>({ keyPrefix: true, batchSize: true, retryDelayMs: true })

/**
 * Distributed locks with fencing tokens, all released at shutdown.
 *
 * Registers one task (the `release` phase by default) that releases every lock still held, in pipelines of
 * {@link REDIS_DEFAULTS}`.batchSize`, and stops a little before its deadline to report how many it could not
 * release (`LockReleaseIncompleteError`). From the first trigger on, `acquire` rejects with
 * `ShuttingDownError`. `remove()` unregisters the task and detaches the locks from the coordinator: those
 * held stay held, and are no longer released nor refused at shutdown. The same client given to
 * `createLocks` twice on one coordinator throws `DuplicateRegistrationError` (one lock set per client: use
 * the key to tell locks apart).
 *
 * @example
 * const locks = createLocks(shutdown, redis)
 * await using lock = await locks.acquire('{invoice:42}', { ttlMs: 10_000, waitMs: 2_000, autoExtend: true })
 * await db.query('UPDATE invoices SET ... WHERE id = 42 AND fence < $1', [lock.fence])
 */
export function createLocks(shutdown: Shutdown, client: RedisClient, options?: RedisLocksOptions): RedisLocks {
  requireCoordinator('createLocks', shutdown, 'createLocks(shutdown, client, options?)')
  requireRedisClient('createLocks', client, ['pipeline'])
  checkOptions('createLocks', options, LOCKS_OPTIONS)
  const o = options ?? {}
  const task = taskOptions('createLocks', o, REDIS_DEFAULTS.locks)
  const set = new LockSet(shutdown, client, {
    keyPrefix: text('keyPrefix of createLocks', o.keyPrefix, REDIS_DEFAULTS.keyPrefix),
    batchSize: count('batchSize of createLocks', o.batchSize, REDIS_DEFAULTS.batchSize, { min: 1 }),
    retryDelayMs: wholeMs('retryDelayMs of createLocks', o.retryDelayMs, REDIS_DEFAULTS.retryDelayMs),
  })
  const registration = registerTask(shutdown, {
    where: 'createLocks',
    task,
    resource: client,
    resourceLabel: 'this client',
    run: (signal, context) => {
      set.closed = true
      return releaseTask(shutdown, set, signal, context)
    },
    onRemove: () => set.stop.detach(),
  })
  set.stop.follow(shutdown)
  return {
    ...registration,
    acquire: (key, acquireOptions) => acquire(set, key, acquireOptions),
    held: () => set.locks,
    releaseAll: () => releaseMany(set),
  }
}

interface LockSettings {
  keyPrefix: string
  batchSize: number
  retryDelayMs: number
}

/** The state of one `createLocks`: its held locks and whether the shutdown has started. */
class LockSet {
  readonly #held = new Set<HeldLock>()
  /** Aborts at the first trigger: no new lock from then on, and a waiting one stops. */
  readonly stop = new TriggerStop()
  readonly scripts: LockScripts
  readonly clock: Clock
  readonly keyPrefix: string
  readonly batchSize: number
  readonly retryDelayMs: number
  closed = false

  constructor(
    shutdown: Shutdown,
    readonly client: RedisClient,
    settings: LockSettings,
  ) {
    this.scripts = lockScripts(client)
    this.clock = shutdown.clock
    this.keyPrefix = settings.keyPrefix
    this.batchSize = settings.batchSize
    this.retryDelayMs = settings.retryDelayMs
  }

  get stopping(): AbortSignal {
    return this.stop.signal
  }

  get locks(): HeldLock[] {
    return [...this.#held]
  }

  adopt(lock: HeldLock): void {
    this.#held.add(lock)
  }

  forget(lock: HeldLock): void {
    this.#held.delete(lock)
  }
}
