import { LOCK_RETRY_DEFAULTS } from '@lameduck/core/adapter'

/**
 * Every default of `@lameduck/redis`, in one place: the code reads them from here, the README states them
 * (a test checks it) and the TSDoc refers to them.
 */
export const REDIS_DEFAULTS = {
  /** The task `createLocks` registers: releases every lock still held. */
  locks: { name: 'redis-locks', phase: 'release', timeoutMs: 3_000, critical: true },
  /** The task `closeRedis` registers: `QUIT`, or `disconnect()` when it cannot finish in time. */
  quit: { name: 'redis-quit', phase: 'close', timeoutMs: 2_000, critical: true },
  /** Prefix of every lock key; the fencing counter of a lock lives at `${keyPrefix}${key}:fence`. */
  keyPrefix: 'lock:',
  /** Releases per pipeline when releasing many locks at once. */
  batchSize: 500,
  /**
   * `waitMs` (how long `acquire` waits for a lock someone else holds; 0: one attempt only), `retryDelayMs`
   * (the mean delay between two attempts) and `retryJitter`: the retry of every lock adapter, from the kit.
   */
  ...LOCK_RETRY_DEFAULTS,
  /** Whether `acquire` keeps extending the lock while it is held. */
  autoExtend: false,
  /** With `autoExtend`, the lock is extended every `ttlMs / autoExtendDivisor`… */
  autoExtendDivisor: 3,
  /** …and, after an extension failed, retried that often divided by this again. */
  extendRetryDivisor: 3,
  /** Prepended to every key (or, with `hash`, every field) by `redisSink`. */
  sinkKeyPrefix: '',
} as const
