import { wholeMs } from './arguments.js'
import { REDIS_DEFAULTS } from './defaults.js'
import { LockLostError, type LockLostReason } from './errors.js'
import type { RedisLock, ReleaseOutcome } from './locks.js'
import type { LockScripts } from './scripts.js'

// A held lock: its extensions, its expiry and its release.
//
// The timers here (`setTimeout`, `Date.now()`) follow the lock's TTL, which runs on the Redis server's wall
// clock, not the coordinator's: they are no budget decision, and a test clock given to the coordinator must
// not move them. Every budget decision (how long `acquire` waits, when the release task stops) is taken on
// the coordinator's clock, in acquire.ts and release.ts.

/** What a held lock needs of its lock set. */
export interface LockOwner {
  readonly scripts: LockScripts
  /** The lock is no longer held (released or lost): take it out of `held()`. */
  forget(lock: HeldLock): void
}

export interface LockState {
  key: string
  lockKey: string
  token: string
  fence: number
  ttlMs: number
  /** Wall-clock epoch ms until which the acquire made the lock valid (counted from before it was sent). */
  validUntil: number
  autoExtend: boolean
}

export class HeldLock implements RedisLock {
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
  #result: ReleaseOutcome | undefined
  #releasing: Promise<ReleaseOutcome> | undefined
  #expiry: NodeJS.Timeout | undefined
  #extender: NodeJS.Timeout | undefined
  readonly #autoExtend: boolean

  constructor(
    private readonly owner: LockOwner,
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
    const ttl = ttlMs === undefined ? this.#ttlMs : wholeMs('ttlMs of extend', ttlMs)
    if (this.#lost || this.#result || this.#releasing) return false
    const seq = ++this.#sentSeq
    const sentAt = Date.now()
    // From now on Redis may run it at any moment: a shorter TTL takes effect before its reply arrives, or
    // even if none ever does.
    this.#unconfirmed.set(seq, sentAt + ttl)
    this.#armExpiry()
    const extended = await this.owner.scripts.extend(this.lockKey, this.token, ttl)
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

  release(): Promise<ReleaseOutcome> {
    if (this.#result) return Promise.resolve(this.#result)
    if (this.#releasing) return this.#releasing
    // Known taken over by another holder: there is nothing of ours to delete.
    if (this.#lost === 'taken') return Promise.resolve(this.#settle(false))
    return this.releaseWith(this.owner.scripts.release(this.lockKey, this.token))
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }

  /** The release under way or done, if any; for the batch release, so a lock is never released twice. */
  ongoingRelease(): Promise<ReleaseOutcome> | undefined {
    if (this.#result) return Promise.resolve(this.#result)
    return this.#releasing
  }

  /** Adopts `deleted`, the reply of a compare-and-delete sent for this lock, as its release. */
  releaseWith(deleted: Promise<boolean>): Promise<ReleaseOutcome> {
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

  #settle(deleted: boolean): ReleaseOutcome {
    this.#result = deleted ? 'released' : 'lost'
    if (!deleted) this.#lose('taken')
    this.#stopTimers()
    this.owner.forget(this)
    return this.#result
  }

  #lose(reason: LockLostReason): void {
    if (this.#lost) return
    this.#lost = reason
    this.#stopTimers()
    this.owner.forget(this)
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
    // Wall clock, like Redis's expiry of the key (see the top of this file).
    this.#expiry = setTimeout(() => this.#lose('expired'), Math.max(0, this.#validUntil() - Date.now())).unref()
  }

  #extendEveryMs(): number {
    return Math.max(1, Math.floor(this.#ttlMs / REDIS_DEFAULTS.autoExtendDivisor))
  }

  #scheduleExtend(delayMs: number): void {
    clearTimeout(this.#extender)
    // Wall clock: the extensions keep up with the key's TTL in Redis (see the top of this file).
    this.#extender = setTimeout(() => {
      this.extend(this.#ttlMs).then(
        (extended) => {
          if (extended) this.#scheduleExtend(this.#extendEveryMs())
        },
        // Redis failed: try again soon; if the TTL runs out first, the expiry timer declares the lock lost.
        () => {
          if (!this.#lost && !this.#result && !this.#releasing)
            this.#scheduleExtend(Math.max(1, Math.floor(this.#extendEveryMs() / REDIS_DEFAULTS.extendRetryDivisor)))
        },
      )
    }, delayMs).unref()
  }
}
