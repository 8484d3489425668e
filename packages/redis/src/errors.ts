import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/redis` throws or records, each with its class. */
export const REDIS_ERROR_CODES = [
  /** {@link LockTimeoutError} */
  'LAMEDUCK_ERR_LOCK_TIMEOUT',
  /** {@link ShuttingDownError} */
  'LAMEDUCK_ERR_SHUTTING_DOWN',
  /** {@link LockFenceError} */
  'LAMEDUCK_ERR_LOCK_FENCE',
  /** {@link LockLostError} */
  'LAMEDUCK_ERR_LOCK_LOST',
  /** {@link LockReleaseIncompleteError} */
  'LAMEDUCK_ERR_LOCK_RELEASE_INCOMPLETE',
  /** {@link RedisQuitTimeoutError} */
  'LAMEDUCK_ERR_REDIS_QUIT_TIMEOUT',
  /** {@link RedisQuitError} */
  'LAMEDUCK_ERR_REDIS_QUIT_FAILED',
  /** {@link RedisUnavailableError} */
  'LAMEDUCK_ERR_REDIS_UNAVAILABLE',
  /** {@link SinkWriteError} */
  'LAMEDUCK_ERR_REDIS_SINK_WRITE',
] as const

/** The warning codes `@lameduck/redis` emits: none so far (its problems are errors of its tasks). */
export const REDIS_WARNING_CODES = [] as const

/** `acquire` gave up: the lock was still held by someone else when `waitMs` ran out. */
export class LockTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_LOCK_TIMEOUT'

  constructor(
    readonly key: string,
    readonly waitMs: number,
  ) {
    super(
      'LAMEDUCK_ERR_LOCK_TIMEOUT',
      waitMs === 0
        ? `lock "${key}" is held by someone else`
        : `lock "${key}" was still held by someone else after waiting ${waitMs} ms`,
    )
  }
}

/** `acquire` was called, or was waiting, when the shutdown started: no new lock is taken from then on. */
export class ShuttingDownError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_SHUTTING_DOWN'

  constructor(readonly key: string) {
    super('LAMEDUCK_ERR_SHUTTING_DOWN', `cannot acquire lock "${key}": the process is shutting down`)
  }
}

/**
 * `acquire` found the lock's fencing counter unusable: its fence key holds something other than an integer
 * (or an integer that cannot be incremented). Nothing was locked: the lock key was left as it was.
 */
export class LockFenceError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_LOCK_FENCE'

  constructor(
    readonly key: string,
    readonly fenceKey: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'LAMEDUCK_ERR_LOCK_FENCE',
      `cannot acquire lock "${key}": its fence key "${fenceKey}" holds no usable counter (${detail}); nothing was locked`,
      options,
    )
  }
}

/** Why a lock is known lost. */
export type LockLostReason =
  /** The key no longer holds this lock's token: it expired and was taken over, or was deleted. */
  | 'taken'
  /** Its TTL ran out before an extension succeeded. */
  | 'expired'

/** The abort reason of `lock.signal`: the lock is known lost, so work it protects must stop. */
export class LockLostError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_LOCK_LOST'

  constructor(
    readonly key: string,
    readonly reason: LockLostReason,
  ) {
    super(
      'LAMEDUCK_ERR_LOCK_LOST',
      reason === 'taken'
        ? `lock "${key}" was lost: its key no longer holds this holder's token`
        : `lock "${key}" was lost: its TTL ran out before it could be extended`,
    )
  }
}

/** What releasing a set of locks achieved. */
export interface ReleaseSummary {
  /** Deleted by us. */
  released: number
  /** Already gone or taken over by another holder (expired before the release); nothing was deleted. */
  lost: number
  /** Redis answered with an error, or the connection failed; still held as far as we know. */
  failed: number
  /** No answer before the deadline; still held as far as we know. */
  pending: number
}

/** The release task could not release every lock before its deadline (e.g. Redis unreachable). */
export class LockReleaseIncompleteError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_LOCK_RELEASE_INCOMPLETE'

  constructor(
    readonly summary: ReleaseSummary,
    options?: { cause?: unknown },
  ) {
    const { released, lost, failed, pending } = summary
    super(
      'LAMEDUCK_ERR_LOCK_RELEASE_INCOMPLETE',
      `released ${released} lock(s), ${lost} already lost, ${failed} failed, ${pending} without an answer ` +
        'before the deadline; those expire at their TTL',
      options,
    )
  }
}

/** `QUIT` got no answer within the task's budget: the connection was dropped with `disconnect()`. */
export class RedisQuitTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_REDIS_QUIT_TIMEOUT'

  constructor(readonly budgetMs: number) {
    super(
      'LAMEDUCK_ERR_REDIS_QUIT_TIMEOUT',
      `QUIT got no answer within ${Math.round(budgetMs)} ms: disconnected without waiting for pending replies`,
    )
  }
}

/** `QUIT` failed: the connection was dropped with `disconnect()`. */
export class RedisQuitError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_REDIS_QUIT_FAILED'

  constructor(cause: unknown) {
    super(
      'LAMEDUCK_ERR_REDIS_QUIT_FAILED',
      `QUIT failed (${String((cause as Error)?.message ?? cause)}): disconnected`,
      {
        cause,
      },
    )
  }
}

/**
 * The client was not connected at shutdown and commands it had queued offline were dropped: the task's
 * error, and what each of those commands is rejected with (`dropped` is `undefined` when this ioredis shows
 * no offline queue to count).
 */
export class RedisUnavailableError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_REDIS_UNAVAILABLE'

  constructor(
    readonly status: string,
    readonly dropped: number | undefined,
  ) {
    super(
      'LAMEDUCK_ERR_REDIS_UNAVAILABLE',
      `the client was not connected at shutdown (status "${status}"): disconnected, dropping ` +
        `${dropped === undefined ? 'its' : dropped} queued command(s)`,
    )
  }
}

/** Some writes of a sink batch failed. The batch may be retried: every write is an idempotent upsert. */
export class SinkWriteError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_REDIS_SINK_WRITE'

  constructor(
    readonly failed: number,
    readonly total: number,
    cause: unknown,
  ) {
    super(
      'LAMEDUCK_ERR_REDIS_SINK_WRITE',
      `${failed} of ${total} Redis write(s) failed: ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    )
  }
}

/** A code of {@link REDIS_ERROR_CODES}. */
export type RedisErrorCode = (typeof REDIS_ERROR_CODES)[number]
/** A code of {@link REDIS_WARNING_CODES}. */
export type RedisWarningCode = (typeof REDIS_WARNING_CODES)[number]
