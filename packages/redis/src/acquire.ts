import { randomBytes } from 'node:crypto'
import { InvalidOptionError } from '@lameduck/core'
import {
  boolean,
  checkOptions,
  duration,
  type LockRetryOwner,
  lockRetry,
  nonEmptyString,
  optionalSignal,
  orDefault,
} from '@lameduck/core/adapter'
import { wholeMs } from './arguments.js'
import { REDIS_DEFAULTS } from './defaults.js'
import { LockFenceError, LockTimeoutError, ShuttingDownError } from './errors.js'
import { HeldLock, type LockOwner } from './held-lock.js'
import type { RedisAcquireOptions } from './locks.js'
import { FENCE_SUFFIX, fenceFailure } from './scripts.js'

// Taking a lock: the options of `acquire`, one atomic attempt, and the wait between attempts — timed on the
// coordinator's clock, so the `clock` option of `createShutdown` drives `waitMs` like every other budget.

export const ACQUIRE_OPTIONS: readonly (keyof RedisAcquireOptions)[] = ['ttlMs', 'waitMs', 'autoExtend', 'signal']

/** What `acquire` needs of its lock set. */
export interface AcquireContext extends LockOwner, LockRetryOwner {
  readonly keyPrefix: string
  /** Set when the release task starts: a lock acquired after that would never be released. */
  readonly closed: boolean
  /** Adds a lock just acquired to `held()`. */
  adopt(lock: HeldLock): void
}

export async function acquire(set: AcquireContext, key: string, options: RedisAcquireOptions): Promise<HeldLock> {
  nonEmptyString('key of acquire', key)
  const lockKey = `${set.keyPrefix}${key}`
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
  const ttlMs = wholeMs('ttlMs of acquire', options.ttlMs)
  const waitMs = duration('waitMs of acquire', options.waitMs, REDIS_DEFAULTS.waitMs)
  const autoExtend = boolean('autoExtend of acquire', orDefault(options.autoExtend, REDIS_DEFAULTS.autoExtend))
  const signal = optionalSignal('signal of acquire', options.signal)
  if (set.stopping.aborted || set.closed) throw new ShuttingDownError(key)
  signal?.throwIfAborted()

  const fenceKey = `${lockKey}${FENCE_SUFFIX}`
  const token = randomBytes(16).toString('hex')
  const retry = lockRetry(set, { waitMs, signal, shuttingDown: () => new ShuttingDownError(key) })
  try {
    for (;;) {
      // Wall clock: the lock's validity follows its TTL in Redis (see held-lock.ts).
      const sentAt = Date.now()
      const fence = await set.scripts.acquire(lockKey, fenceKey, token, ttlMs).catch((error: unknown) => {
        const detail = fenceFailure(error)
        throw detail === undefined ? error : new LockFenceError(key, fenceKey, detail, { cause: error })
      })
      if (fence !== null) {
        const lock = new HeldLock(set, { key, lockKey, token, fence, ttlMs, validUntil: sentAt + ttlMs, autoExtend })
        if (set.closed) {
          // The release task has already run: this lock would be left behind until its TTL.
          await lock.release().catch(() => {})
          throw new ShuttingDownError(key)
        }
        set.adopt(lock)
        return lock
      }
      if (!(await retry.pause())) throw new LockTimeoutError(key, waitMs)
    }
  } finally {
    retry.dispose()
  }
}
