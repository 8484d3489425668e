import type { Clock, Shutdown, TaskContext } from '@lameduck/core'
import { settleBy } from '@lameduck/core/adapter'
import type { ChainableCommander } from 'ioredis'
import { LockReleaseIncompleteError, type ReleaseSummary } from './errors.js'
import type { HeldLock } from './held-lock.js'
import type { ReleaseOutcome } from './locks.js'
import type { LockScripts, RedisClient } from './scripts.js'

// Releasing many locks at once — `releaseAll()` and the release task: pipelined compare-and-deletes, a
// cluster's one by one, waited for until the task's stop time on the coordinator's clock.

/** What releasing many locks needs of their lock set. */
export interface ReleaseContext {
  readonly client: RedisClient
  readonly scripts: LockScripts
  readonly batchSize: number
  /** The locks held now. */
  readonly locks: readonly HeldLock[]
}

/**
 * Releases `set.locks`, pipelined in batches of `batchSize`; stops waiting at epoch ms `until` on `clock`
 * or when `signal` aborts, counting what had no answer by then as `pending`. Never rejects.
 */
export async function releaseMany(
  set: ReleaseContext,
  wait: { until?: number; clock?: Clock; signal?: AbortSignal } = {},
): Promise<ReleaseSummary> {
  const locks = set.locks
  const summary: ReleaseSummary = { released: 0, lost: 0, failed: 0, pending: 0 }
  const waits: Promise<void>[] = []
  const count = (released: Promise<ReleaseOutcome>) =>
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
  if (set.client.isCluster) {
    // A cluster pipeline must stay within one slot: send the releases one by one, all at once.
    for (const lock of fresh) count(lock.release())
  } else {
    for (let start = 0; start < fresh.length; start += set.batchSize) {
      const batch = fresh.slice(start, start + set.batchSize)
      const pipeline: ChainableCommander = set.client.pipeline()
      for (const lock of batch) set.scripts.queueRelease(pipeline, lock.lockKey, lock.token)
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
  const { until = Number.POSITIVE_INFINITY, clock, signal } = wait
  await settleBy(all, until, { clock, signal })
  const result = { ...summary }
  result.pending = locks.length - result.released - result.lost - result.failed
  return result
}

/**
 * The release task's run: releases every lock still held before `context.stopAt()`, logs what it found and
 * fails with `LockReleaseIncompleteError` when some could not be released. Locks found already lost do not
 * fail it (but are logged as a warning: the work they protected may have overlapped another holder's).
 */
export async function releaseTask(
  shutdown: Shutdown,
  set: ReleaseContext,
  signal: AbortSignal,
  context: TaskContext,
): Promise<ReleaseSummary> {
  const summary = await releaseMany(set, { until: context.stopAt(), clock: context.clock, signal })
  const task = context.name
  shutdown.logger[summary.lost > 0 ? 'warn' : 'info'](
    { event: 'redis.locks.released', task, ...summary },
    `${task}: released ${summary.released} lock(s), ${summary.lost} already lost`,
  )
  if (summary.failed > 0 || summary.pending > 0) throw new LockReleaseIncompleteError(summary)
  return summary
}
