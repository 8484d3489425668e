import { randomBytes } from 'node:crypto'
import { checkOptions, InvalidOptionError, requireDuration, type Shutdown } from '@lameduck/core'
import type { ChainableCommander } from 'ioredis'
import { REDIS_DEFAULTS } from './defaults.js'
import {
  LockFenceError,
  LockLostError,
  type LockLostReason,
  LockReleaseIncompleteError,
  LockTimeoutError,
  type ReleaseSummary,
  ShuttingDownError,
} from './errors.js'
import { FENCE_SUFFIX, fenceFailure, type LockScripts, lockScripts, type RedisClient } from './scripts.js'
import { settledBefore, sleep } from './timing.js'
import {
  boolean,
  nonEmptyString,
  optionalSignal,
  orDefault,
  positiveDuration,
  positiveInteger,
  requireRedisClient,
  requireShutdown,
  string,
} from './validate.js'

/** Options of {@link createLocks}. */
export interface LocksOptions {
  /** Prefix of every lock key. Default: `'lock:'`. */
  keyPrefix?: string
  /** Name of the release task. Default: `'redis-locks'`. */
  name?: string
  /** Budget of the release task. Default: 3000. */
  timeoutMs?: number
  /** Whether locks left unreleased make the exit code non-zero. Default: `true`. */
  critical?: boolean
  /** Releases per pipeline. Default: 500. */
  batchSize?: number
  /** Mean delay between attempts of a waiting `acquire` (jittered ±50%). Default: 50. */
  retryDelayMs?: number
}

/** Options of {@link Locks.acquire}. */
export interface AcquireOptions {
  /** Time to live of the lock in Redis: it expires by itself if this process dies. Required. */
  ttlMs: number
  /** How long to retry while someone else holds the lock. Default: 0 (one attempt). */
  waitMs?: number
  /** Extend the lock every `ttlMs / 3` while it is held. Default: `false`. */
  autoExtend?: boolean
  /** Cancels a waiting `acquire` (it rejects with the signal's reason). */
  signal?: AbortSignal
}

/** What `release()` found: `'released'` (deleted by us) or `'lost'` (expired or taken over: nothing deleted). */
export type ReleaseResult = 'released' | 'lost'

/** A held lock. `await using lock = await locks.acquire(...)` releases it at the end of the block. */
export interface Lock extends AsyncDisposable {
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
   * gets the same result. Rejects when Redis fails (the lock is then still considered held; call again).
   */
  release(): Promise<ReleaseResult>
  /** Same as `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** What {@link createLocks} returns. */
export interface Locks {
  /**
   * Takes the lock `key`: one atomic script sets it if free and hands out the next fencing token
   * (`INCR` of `${keyPrefix}${key}:fence`). Rejects with `LockTimeoutError` when it is still held after
   * `waitMs`, and with `ShuttingDownError` once the shutdown has started (a waiting `acquire` is cancelled
   * at that moment). A lock key (`keyPrefix` + `key`) ending in `:fence` is refused with
   * `InvalidOptionError`: it would be another lock's fence key. When the fence key holds no integer,
   * rejects with `LockFenceError` and leaves the lock key as it was.
   */
  acquire(key: string, options: AcquireOptions): Promise<Lock>
  /** Number of locks held right now (acquired, not released, not known lost). */
  held(): number
  /** Releases every held lock in pipelined batches. Never rejects: failures are counted. */
  releaseAll(): Promise<ReleaseSummary>
}

/**
 * Distributed locks with fencing tokens, all released in the `release` phase of the shutdown.
 *
 * Registers one task, in the `release` phase, that releases every lock still held, 500 per pipeline, and
 * stops a little before its deadline to report how many it could not release
 * (`LockReleaseIncompleteError`). From the first trigger on, `acquire` rejects with `ShuttingDownError`.
 *
 * @example
 * const locks = createLocks(shutdown, redis)
 * await using lock = await locks.acquire('{invoice:42}', { ttlMs: 10_000, waitMs: 2_000, autoExtend: true })
 * await db.query('UPDATE invoices SET ... WHERE id = 42 AND fence < $1', [lock.fence])
 */
export function createLocks(shutdown: Shutdown, redis: RedisClient, options: LocksOptions = {}): Locks {
  requireShutdown('createLocks', shutdown)
  requireRedisClient('createLocks', 'redis', redis, ['pipeline'])
  checkOptions('createLocks', options, LOCKS_OPTIONS)
  const resolved: ResolvedLocksOptions = {
    keyPrefix: string('keyPrefix of createLocks', orDefault(options.keyPrefix, REDIS_DEFAULTS.lockKeyPrefix)),
    name: nonEmptyString('name of createLocks', orDefault(options.name, REDIS_DEFAULTS.locksTaskName)),
    timeoutMs: requireDuration('timeoutMs of createLocks', orDefault(options.timeoutMs, REDIS_DEFAULTS.locksTimeoutMs)),
    critical: boolean('critical of createLocks', orDefault(options.critical, REDIS_DEFAULTS.critical)),
    batchSize: positiveInteger(
      'batchSize of createLocks',
      orDefault(options.batchSize, REDIS_DEFAULTS.releaseBatchSize),
    ),
    retryDelayMs: positiveDuration(
      'retryDelayMs of createLocks',
      orDefault(options.retryDelayMs, REDIS_DEFAULTS.retryDelayMs),
    ),
  }
  return new LockManager(shutdown, redis, resolved)
}

const LOCKS_OPTIONS: readonly (keyof LocksOptions)[] = [
  'keyPrefix',
  'name',
  'timeoutMs',
  'critical',
  'batchSize',
  'retryDelayMs',
]
const ACQUIRE_OPTIONS: readonly (keyof AcquireOptions)[] = ['ttlMs', 'waitMs', 'autoExtend', 'signal']

interface ResolvedLocksOptions {
  keyPrefix: string
  name: string
  timeoutMs: number
  critical: boolean
  batchSize: number
  retryDelayMs: number
}

class LockManager implements Locks {
  readonly #held = new Set<HeldLock>()
  readonly #stopping = new AbortController()
  readonly #scripts: LockScripts
  /** Set when the release task starts: a lock acquired after that would never be released. */
  #closed = false

  constructor(
    shutdown: Shutdown,
    private readonly redis: RedisClient,
    private readonly options: ResolvedLocksOptions,
  ) {
    this.#scripts = lockScripts(redis)
    const off = shutdown.on('state', ({ to }) => {
      if (to === 'running') return
      off()
      this.#stopping.abort()
    })
    if (shutdown.state !== 'running') this.#stopping.abort()
    shutdown.addTask({
      name: options.name,
      phase: 'release',
      timeoutMs: options.timeoutMs,
      critical: options.critical,
      run: async (signal, context) => {
        this.#closed = true
        const summary = await this.#releaseMany([...this.#held], context.stopAt(), signal)
        // A lost lock is no failure of the shutdown, but the work it protected may have overlapped another holder's.
        shutdown.logger[summary.lost > 0 ? 'warn' : 'info'](
          { event: 'redis.locks.released', task: options.name, ...summary },
          `${options.name}: released ${summary.released} lock(s), ${summary.lost} already lost`,
        )
        if (summary.failed > 0 || summary.pending > 0) throw new LockReleaseIncompleteError(summary)
        return summary
      },
    })
  }

  get scripts(): LockScripts {
    return this.#scripts
  }

  held(): number {
    return this.#held.size
  }

  forget(lock: HeldLock): void {
    this.#held.delete(lock)
  }

  releaseAll(): Promise<ReleaseSummary> {
    return this.#releaseMany([...this.#held])
  }

  async acquire(key: string, options: AcquireOptions): Promise<Lock> {
    nonEmptyString('key of acquire', key)
    const lockKey = `${this.options.keyPrefix}${key}`
    // `${lockKey}:fence` is the fencing counter of `lockKey`: a lock key ending in ":fence" would be another
    // lock's counter (and its own counter would then be unusable), whatever prefix and key produce it.
    if (lockKey.endsWith(FENCE_SUFFIX))
      throw new InvalidOptionError(
        'key of acquire',
        `the lock key "${lockKey}" ends with "${FENCE_SUFFIX}", reserved for fence keys: it is the fencing counter ` +
          `of the lock key "${lockKey.slice(0, -FENCE_SUFFIX.length)}"`,
      )
    if (options === undefined)
      throw new InvalidOptionError('options of acquire', 'expected { ttlMs } at least; got undefined')
    checkOptions('acquire', options, ACQUIRE_OPTIONS)
    const ttlMs = positiveDuration('ttlMs of acquire', options.ttlMs)
    const waitMs = requireDuration('waitMs of acquire', orDefault(options.waitMs, REDIS_DEFAULTS.waitMs))
    const autoExtend = boolean('autoExtend of acquire', orDefault(options.autoExtend, false))
    const signal = optionalSignal('signal of acquire', options.signal)
    if (this.#stopping.signal.aborted || this.#closed) throw new ShuttingDownError(key)
    signal?.throwIfAborted()

    const fenceKey = `${lockKey}${FENCE_SUFFIX}`
    const token = randomBytes(16).toString('hex')
    const waitUntil = Date.now() + waitMs
    const signals = signal ? [this.#stopping.signal, signal] : [this.#stopping.signal]
    for (;;) {
      const sentAt = Date.now()
      const fence = await this.#scripts.acquire(lockKey, fenceKey, token, ttlMs).catch((error: unknown) => {
        const detail = fenceFailure(error)
        throw detail === undefined ? error : new LockFenceError(key, fenceKey, detail, { cause: error })
      })
      if (fence !== null) {
        const lock = new HeldLock(this, { key, lockKey, token, fence, ttlMs, validUntil: sentAt + ttlMs, autoExtend })
        if (this.#closed) {
          // The release task has already run: this lock would be left behind until its TTL.
          await lock.release().catch(() => {})
          throw new ShuttingDownError(key)
        }
        this.#held.add(lock)
        return lock
      }
      if (this.#stopping.signal.aborted) throw new ShuttingDownError(key)
      signal?.throwIfAborted()
      const remaining = waitUntil - Date.now()
      if (remaining <= 0) throw new LockTimeoutError(key, waitMs)
      const jittered = this.options.retryDelayMs * (0.5 + Math.random())
      await sleep(Math.min(jittered, remaining), signals, (aborted) =>
        aborted === signal ? aborted.reason : new ShuttingDownError(key),
      )
    }
  }

  /** Releases `locks`, pipelined; stops waiting at `deadline` (epoch ms) or when `signal` aborts. */
  async #releaseMany(locks: HeldLock[], deadline = Number.POSITIVE_INFINITY, signal?: AbortSignal) {
    const summary: ReleaseSummary = { released: 0, lost: 0, failed: 0, pending: 0 }
    const waits: Promise<void>[] = []
    const count = (released: Promise<ReleaseResult>) =>
      waits.push(
        released.then(
          (result) => {
            summary[result]++
          },
          () => {
            summary.failed++
          },
        ),
      )
    const fresh: HeldLock[] = []
    for (const lock of locks) {
      const ongoing = lock.ongoingRelease()
      if (ongoing) count(ongoing)
      else fresh.push(lock)
    }
    if (this.redis.isCluster) {
      // A cluster pipeline must stay within one slot: send the releases one by one, all at once.
      for (const lock of fresh) count(lock.release())
    } else {
      for (let start = 0; start < fresh.length; start += this.options.batchSize) {
        const batch = fresh.slice(start, start + this.options.batchSize)
        const pipeline: ChainableCommander = this.redis.pipeline()
        for (const lock of batch) this.#scripts.queueRelease(pipeline, lock.lockKey, lock.token)
        const replies = pipeline.exec()
        batch.forEach((lock, index) => {
          count(
            lock.releaseWith(
              replies.then((results) => {
                const [error, reply] = results?.[index] ?? [new Error('the pipeline returned no reply')]
                if (error) throw error
                return Number(reply) === 1
              }),
            ),
          )
        })
      }
    }
    const all = Promise.all(waits)
    if (Number.isFinite(deadline) || signal) await settledBefore(all, deadline, signal)
    else await all
    const result = { ...summary }
    result.pending = locks.length - result.released - result.lost - result.failed
    return result
  }
}

interface LockState {
  key: string
  lockKey: string
  token: string
  fence: number
  ttlMs: number
  validUntil: number
  autoExtend: boolean
}

class HeldLock implements Lock {
  readonly key: string
  readonly lockKey: string
  readonly token: string
  readonly fence: number
  readonly #ttlMs: number
  readonly #controller = new AbortController()
  /**
   * When the key expires (epoch ms) as set by the newest command known to have run: the acquire, or the
   * last-sent extension that succeeded. Counted from before the command was sent, so never later than Redis.
   */
  #confirmedUntil: number
  /** Sequence number of that command (the acquire is 0); extensions are numbered as they are sent. */
  #confirmedSeq = 0
  #sentSeq = 0
  /**
   * Extensions sent after the confirmed one whose outcome is unknown — in flight, or failed (Redis may have run
   * them anyway): seq → the expiry each sets if it ran. Each one sets the TTL when it runs, so the key may
   * expire at the earliest of them: the lock counts as valid until the earliest of these and `#confirmedUntil`.
   */
  readonly #unconfirmed = new Map<number, number>()
  #lost: LockLostReason | undefined
  #result: ReleaseResult | undefined
  #releasing: Promise<ReleaseResult> | undefined
  #expiry: NodeJS.Timeout | undefined
  #extender: NodeJS.Timeout | undefined
  readonly #autoExtend: boolean

  constructor(
    private readonly manager: LockManager,
    state: LockState,
  ) {
    this.key = state.key
    this.lockKey = state.lockKey
    this.token = state.token
    this.fence = state.fence
    this.#ttlMs = state.ttlMs
    this.#confirmedUntil = state.validUntil
    this.#autoExtend = state.autoExtend
    this.#armExpiry()
    if (this.#autoExtend) this.#scheduleExtend(this.#extendEveryMs())
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  async extend(ttlMs?: number): Promise<boolean> {
    const ttl = ttlMs === undefined ? this.#ttlMs : positiveDuration('ttlMs of extend', ttlMs)
    if (this.#lost || this.#result || this.#releasing) return false
    const seq = ++this.#sentSeq
    const sentAt = Date.now()
    // From now on Redis may run it at any moment: a shorter TTL takes effect before its reply arrives, or
    // even if none ever does.
    this.#unconfirmed.set(seq, sentAt + ttl)
    this.#armExpiry()
    const extended = await this.manager.scripts.extend(this.lockKey, this.token, ttl)
    if (this.#lost || this.#result) return false
    if (!extended) {
      this.#lose('taken')
      return false
    }
    // Redis runs the commands of one key in the order they were sent: the last-sent extension that succeeded
    // set the TTL, whatever the order in which the replies arrive.
    if (seq > this.#confirmedSeq) {
      this.#confirmedSeq = seq
      this.#confirmedUntil = sentAt + ttl
      for (const earlier of this.#unconfirmed.keys()) if (earlier <= seq) this.#unconfirmed.delete(earlier)
      this.#armExpiry()
    }
    return true
  }

  release(): Promise<ReleaseResult> {
    if (this.#result) return Promise.resolve(this.#result)
    if (this.#releasing) return this.#releasing
    // Known taken over by another holder: there is nothing of ours to delete.
    if (this.#lost === 'taken') return Promise.resolve(this.#settle(false))
    return this.releaseWith(this.manager.scripts.release(this.lockKey, this.token))
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }

  /** The release under way, if any; for the batch release, so a lock is never released twice. */
  ongoingRelease(): Promise<ReleaseResult> | undefined {
    if (this.#result) return Promise.resolve(this.#result)
    return this.#releasing
  }

  /** Adopts `deleted`, the reply of a compare-and-delete sent for this lock, as its release. */
  releaseWith(deleted: Promise<boolean>): Promise<ReleaseResult> {
    clearTimeout(this.#extender)
    this.#releasing = deleted.then(
      (ok) => this.#settle(ok),
      (error: unknown) => {
        this.#releasing = undefined
        if (this.#autoExtend && !this.#lost) this.#scheduleExtend(0)
        throw error
      },
    )
    return this.#releasing
  }

  #settle(deleted: boolean): ReleaseResult {
    this.#result = deleted ? 'released' : 'lost'
    if (!deleted) this.#lose('taken')
    this.#stopTimers()
    this.manager.forget(this)
    return this.#result
  }

  #lose(reason: LockLostReason): void {
    if (this.#lost) return
    this.#lost = reason
    this.#stopTimers()
    this.manager.forget(this)
    this.#controller.abort(new LockLostError(this.key, reason))
  }

  #stopTimers(): void {
    clearTimeout(this.#expiry)
    clearTimeout(this.#extender)
  }

  /** Until when the lock is surely held: the earliest expiry any command Redis may have run so far could set. */
  #validUntil(): number {
    let until = this.#confirmedUntil
    for (const expiry of this.#unconfirmed.values()) until = Math.min(until, expiry)
    return until
  }

  /** When our estimate of the TTL runs out (a conservative one: counted from before the command was sent). */
  #armExpiry(): void {
    if (this.#lost || this.#result) return
    clearTimeout(this.#expiry)
    this.#expiry = setTimeout(() => this.#lose('expired'), Math.max(0, this.#validUntil() - Date.now())).unref()
  }

  #extendEveryMs(): number {
    return Math.max(1, Math.floor(this.#ttlMs / 3))
  }

  #scheduleExtend(delayMs: number): void {
    clearTimeout(this.#extender)
    this.#extender = setTimeout(() => {
      this.extend(this.#ttlMs).then(
        (extended) => {
          if (extended) this.#scheduleExtend(this.#extendEveryMs())
        },
        // Redis failed: try again soon; if the TTL runs out first, the expiry timer declares the lock lost.
        () => {
          if (!this.#lost && !this.#result && !this.#releasing)
            this.#scheduleExtend(Math.max(1, Math.floor(this.#extendEveryMs() / 3)))
        },
      )
    }, delayMs).unref()
  }
}
