import {
  BULLMQ_DEFAULTS,
  BULLMQ_ERROR_CODES,
  BULLMQ_WARNING_CODES,
  BullmqCloseTimeoutError,
  type BullmqErrorCode,
  BullmqJobsReturnedError,
  BullmqRedisUnavailableError,
  type BullmqStopStats,
  type BullmqWarningCode,
  JobCancelledError,
  type StopWorkerOptions,
  stopWorker,
  type WorkerStop,
} from '@lameduck/bullmq'
import type { Registration, Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions } from '@lameduck/core/adapter'
import { Queue, Worker } from 'bullmq'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown

describe('public types of @lameduck/bullmq', () => {
  it("takes BullMQ's own Worker, whatever its job types, and returns the one handle shape", () => {
    const worker = new Worker<{ to: string }, string>(
      'emails',
      async (job, _token, signal) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>()
        return job.data.to
      },
      { connection: {} },
    )
    const stop = stopWorker(shutdown, worker, { timeoutMs: 20_000, cancelMs: 2_000, returnMs: 500 })
    expectTypeOf(stop).toEqualTypeOf<WorkerStop>()
    expectTypeOf(stop).toExtend<Registration>()
    expectTypeOf(stop.active()).toEqualTypeOf<number>()
    expectTypeOf(stop.stats).toEqualTypeOf<BullmqStopStats | undefined>()
    expectTypeOf<StopWorkerOptions>().toExtend<AdapterTaskOptions>()
    // @ts-expect-error not an option (a Worker option)
    stopWorker(shutdown, worker, { concurrency: 5 })
    // @ts-expect-error not a Worker
    stopWorker(shutdown, new Queue('emails', { connection: {} }))
    // @ts-expect-error the coordinator comes first
    stopWorker(worker)
  })

  it('the defaults, the codes and the errors', () => {
    expectTypeOf(BULLMQ_DEFAULTS.phase).toEqualTypeOf<'drain'>()
    expectTypeOf(BULLMQ_DEFAULTS.cancelMs).toEqualTypeOf<1000>()
    expectTypeOf(BULLMQ_ERROR_CODES).toEqualTypeOf<
      readonly [
        'LAMEDUCK_ERR_BULLMQ_JOB_CANCELLED',
        'LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED',
        'LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE',
        'LAMEDUCK_ERR_BULLMQ_CLOSE_TIMEOUT',
      ]
    >()
    expectTypeOf(BULLMQ_WARNING_CODES).toEqualTypeOf<readonly ['LAMEDUCK_WARN_BULLMQ_INTERNALS']>()
    expectTypeOf<BullmqWarningCode>().toEqualTypeOf<'LAMEDUCK_WARN_BULLMQ_INTERNALS'>()
    const stats = {} as BullmqStopStats
    expectTypeOf(new JobCancelledError('1', 'bullmq-worker').code).toEqualTypeOf<'LAMEDUCK_ERR_BULLMQ_JOB_CANCELLED'>()
    expectTypeOf(new BullmqJobsReturnedError(stats).code).toEqualTypeOf<'LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED'>()
    expectTypeOf(
      new BullmqRedisUnavailableError(stats, 'x').code,
    ).toEqualTypeOf<'LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE'>()
    expectTypeOf(new BullmqCloseTimeoutError(stats, 1).code).toEqualTypeOf<'LAMEDUCK_ERR_BULLMQ_CLOSE_TIMEOUT'>()
    expectTypeOf(new BullmqJobsReturnedError(stats).code).toExtend<BullmqErrorCode>()
    expectTypeOf(new BullmqJobsReturnedError(stats).stats).toEqualTypeOf<BullmqStopStats>()
  })
})
