import type { Clock } from '../clock.js'
import { linkSignals, sleep } from './timing.js'

// Taking a lock someone else holds: every lock adapter (redis, pg, etcd) retries the same way — for `waitMs`
// at the most, a jittered `retryDelayMs` between two attempts, on the coordinator's clock — so that its
// README can say "the same as the others" and mean it.

/** The defaults of that retry: a lock adapter's defaults object spreads them (and its README states them). */
export const LOCK_RETRY_DEFAULTS = {
  /** How long taking a lock retries while someone else holds it. 0: one attempt only. */
  waitMs: 0,
  /** Mean delay between two attempts of a waiting lock, each jittered by `retryJitter`. */
  retryDelayMs: 50,
  /** Each delay between attempts is `retryDelayMs × (1 ± retryJitter)`, at random: ±50%. */
  retryJitter: 0.5,
} as const

/** What {@link lockRetry} reads of the adapter's lock set (or lease). */
export interface LockRetryOwner {
  readonly clock: Clock
  /** Aborts at the first trigger of the shutdown: no new lock from then on, and a waiting one stops. */
  readonly stopping: AbortSignal
  /** The adapter's `retryDelayMs` option: the mean delay between two attempts. */
  readonly retryDelayMs: number
}

/** One waiting attempt at a lock: what {@link lockRetry} is given. */
export interface LockRetryWait {
  /** How long to retry, from now. */
  waitMs: number
  /** The caller's signal: the wait stops with its reason. */
  signal: AbortSignal | undefined
  /** The error the wait stops with once the shutdown has started (the adapter's `ShuttingDownError`). */
  shuttingDown: () => Error
}

/** The retry of one waiting attempt at a lock. */
export interface LockRetry {
  /** Throws when the wait must stop: `shuttingDown()` once the shutdown has started, the signal's reason once it aborted. */
  check(): void
  /**
   * After an attempt that found the lock held: `check()`, then `false` when `waitMs` has run out (the caller
   * times out), else a jittered `retryDelayMs` (cut short at the end of `waitMs`) and `true`: attempt again.
   * Throws as `check()` does when the wait is stopped meanwhile.
   */
  pause(): Promise<boolean>
  /** Takes the listeners off the signals. Idempotent. */
  dispose(): void
}

/**
 * The retry of a waiting `acquire` / `lock`, timed on `owner.clock` from now:
 *
 * @example
 * const retry = lockRetry(set, { waitMs, signal, shuttingDown: () => new ShuttingDownError(key) })
 * try {
 *   for (;;) {
 *     const lock = await attempt()
 *     if (lock) return lock
 *     if (!(await retry.pause())) throw new LockTimeoutError(key, waitMs)
 *   }
 * } finally {
 *   retry.dispose()
 * }
 */
export function lockRetry(owner: LockRetryOwner, wait: LockRetryWait): LockRetry {
  const { clock, stopping } = owner
  const { signal, shuttingDown } = wait
  const until = clock.now() + wait.waitMs
  const stop = linkSignals([stopping, signal])
  const check = () => {
    if (stopping.aborted) throw shuttingDown()
    signal?.throwIfAborted()
  }
  return {
    check,
    async pause() {
      check()
      const remaining = until - clock.now()
      if (remaining <= 0) return false
      const delay = owner.retryDelayMs * (1 + LOCK_RETRY_DEFAULTS.retryJitter * (2 * Math.random() - 1))
      if (!(await sleep(Math.min(delay, remaining), { clock, signal: stop.signal }))) check()
      return true
    },
    dispose: () => stop.dispose(),
  }
}
