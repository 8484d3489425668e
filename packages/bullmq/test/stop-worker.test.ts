// stopWorker against real BullMQ workers on the real Redis, in this process: what finishes, what is cancelled,
// what goes back to the queue, and that nothing is recorded twice.
import { setTimeout as delay } from 'node:timers/promises'
import { BullmqJobsReturnedError, JobCancelledError, stopWorker } from '@lameduck/bullmq'
import { UnrecoverableError } from 'bullmq'
import { expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { completions, type Job, until, useQueues } from './helpers.js'

type Kind = 'short' | 'heeds' | 'ignores' | 'fails'
interface Data {
  kind: Kind
  ms?: number
}

await describeWith('Redis', 'stopWorker on a real BullMQ worker', () => {
  const q = useQueues('stop')

  it('lets short jobs finish, cancels and returns the long ones at once, and none is recorded twice', async () => {
    const queue = q.queue()
    const seen: { id: string; signal: AbortSignal | undefined }[] = []
    const lateResults: string[] = []
    const processor = async (job: Job<Data>, _token?: string, signal?: AbortSignal) => {
      seen.push({ id: job.id as string, signal })
      if (job.data.kind === 'short') {
        await delay(job.data.ms ?? 50)
        return 'short done'
      }
      if (job.data.kind === 'fails') throw new Error('a failure of its own')
      if (job.data.kind === 'heeds') {
        await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }))
        return 'never'
      }
      // Ignores the signal: finishes long after the drain gave it back; its result must not be recorded.
      await delay(2_500)
      lateResults.push(job.id as string)
      return 'late'
    }
    const worker = q.worker<Data>(queue, processor, { concurrency: 50 })
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker, { timeoutMs: 2_000, cancelMs: 500, returnMs: 300 })
    const kinds: Kind[] = [...Array(20).fill('short'), ...Array(6).fill('heeds'), ...Array(6).fill('ignores'), 'fails']
    await queue.addBulk(
      kinds.map((kind, i) => ({ name: kind, data: { kind, ms: 400 + i * 20 }, opts: { jobId: `${kind}-${i}` } })),
    )
    await until(() => seen.length === kinds.length, 10_000, 'every job started')

    const report = await shutdown.shutdown('test')
    const task = taskReport(report, 'bullmq-worker')
    expect(task.outcome).toBe('error')
    expect(task.code).toBe('LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED')
    expect(task.durationMs).toBeLessThan(2_000)
    // The failing job failed before the drain; the 20 short ones finish during it.
    expect(stop.stats).toMatchObject({
      activeAtStart: 32,
      finished: 20,
      cancelled: 12,
      returned: 12,
      notReturned: 0,
      lost: 0,
      unrecorded: 0,
      closed: true,
    })
    // Every job got a signal; the cancelled ones were aborted with JobCancelledError.
    expect(seen.every((s) => s.signal instanceof AbortSignal)).toBe(true)
    for (const s of seen.filter((x) => /^(heeds|ignores)/.test(x.id)))
      expect(s.signal?.reason).toBeInstanceOf(JobCancelledError)
    for (const s of seen.filter((x) => x.id.startsWith('short'))) expect(s.signal?.aborted).toBe(false)

    // Right after the drain: nothing active, the cut jobs waiting again without a failed attempt.
    const counts = await queue.getJobCounts('active', 'wait', 'completed', 'failed')
    expect(counts).toEqual({ active: 0, wait: 12, completed: 20, failed: 1 })
    for (const job of await queue.getWaiting()) expect(job.attemptsMade).toBe(0)

    // A second worker takes them at once and completes them; the first worker's late results change nothing.
    const second = q.worker<Data>(queue, async () => 'second')
    await until(async () => (await queue.getCompletedCount()) === 32, 10_000, 'the second worker')
    await until(() => lateResults.length === 6, 5_000, 'the late results of the first worker')
    await delay(200)
    await second.close()
    const recorded = await completions(q.redis, queue)
    expect([...recorded.values()].every((n) => n === 1)).toBe(true)
    expect(recorded.size).toBe(32)
    for (const job of await queue.getCompleted(0, 100))
      expect(job.returnvalue).toBe(job.id?.startsWith('short') ? 'short done' : 'second')
    expect(await queue.getFailedCount()).toBe(1)
  }, 30_000)

  it('finishes at once when every job ends in time: no cancel, no return, the task ok', async () => {
    const queue = q.queue()
    const worker = q.worker(queue, async () => delay(100), { concurrency: 10 })
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker, { timeoutMs: 5_000 })
    await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'j', data: { i } })))
    await until(() => stop.active() === 10)
    const report = await shutdown.shutdown()
    const task = taskReport(report, 'bullmq-worker')
    expect(task.outcome).toBe('ok')
    expect(task.durationMs).toBeLessThan(2_000)
    expect(stop.stats).toMatchObject({ activeAtStart: 10, finished: 10, cancelled: 0, returned: 0, closed: true })
    expect(await queue.getCompletedCount()).toBe(10)
  })

  it("keeps BullMQ's own outcomes: UnrecoverableError after the cancel still fails the job for good", async () => {
    const queue = q.queue()
    const worker = q.worker(
      queue,
      async (_job, _token, signal) => {
        await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }))
        throw new UnrecoverableError('cancelled: do not retry')
      },
      { concurrency: 2 },
    )
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker, { timeoutMs: 800, cancelMs: 400 })
    await queue.addBulk([
      { name: 'a', data: {} },
      { name: 'b', data: {} },
    ])
    await until(() => stop.active() === 2)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'bullmq-worker').outcome).toBe('ok')
    expect(stop.stats).toMatchObject({ cancelled: 2, finished: 2, returned: 0 })
    expect(await queue.getJobCounts('failed', 'wait', 'active')).toEqual({ failed: 2, wait: 0, active: 0 })
  })

  it('fails the task with BullmqJobsReturnedError, whose stats say what was returned; critical: false keeps exit 0', async () => {
    const queue = q.queue()
    const worker = q.worker(queue, () => new Promise(() => {}), { concurrency: 3 })
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker, { timeoutMs: 400, critical: false })
    await queue.addBulk([1, 2, 3].map((i) => ({ name: 'stuck', data: { i } })))
    await until(() => stop.active() === 3)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    const task = taskReport(report, 'bullmq-worker')
    expect(task.code).toBe('LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED')
    expect(task.error).toBe(new BullmqJobsReturnedError(stop.stats as never).message)
    expect(stop.stats).toMatchObject({ activeAtStart: 3, cancelled: 3, returned: 3, finished: 0 })
    expect(await queue.getJobCounts('active', 'wait')).toEqual({ active: 0, wait: 3 })
  })

  it("still hands BullMQ's own cancellation (worker.cancelJob) to the processor, which then fails the job as BullMQ does", async () => {
    const queue = q.queue()
    const worker = q.worker(queue, async (_job, _token, signal) => {
      await new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error(String(signal.reason)))),
      )
    })
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker)
    const job = await queue.add('c', {})
    await until(() => stop.active() === 1)
    expect(worker.cancelJob(job.id as string, 'user asked')).toBe(true)
    await until(async () => (await queue.getFailedCount()) === 1)
    expect((await queue.getJob(job.id as string))?.failedReason).toBe('user asked')
    await shutdown.shutdown()
  })

  it('leaves a client the application passed as `connection` open: BullMQ closes only the connection it duplicated', async () => {
    const queue = q.queue()
    const { Redis } = await import('ioredis')
    const { redisOptions } = await import('./helpers.js')
    const client = new Redis({ ...redisOptions(), maxRetriesPerRequest: null })
    const worker = q.worker(queue, async () => delay(50), { connection: client })
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker)
    await queue.add('a', {})
    await until(async () => (await queue.getCompletedCount()) === 1)
    expect(taskReport(await shutdown.shutdown(), 'bullmq-worker').outcome).toBe('ok')
    expect(stop.stats?.closed).toBe(true)
    expect(client.status).toBe('ready')
    expect(await client.ping()).toBe('PONG')
    await client.quit()
  })

  it('remove() gives the worker its own callProcessJob back and unregisters the task', async () => {
    const queue = q.queue()
    const worker = q.worker(queue, async () => 'plain')
    const shutdown = testShutdown()
    const own = Object.getOwnPropertyDescriptor(worker, 'callProcessJob')
    const stop = stopWorker(shutdown, worker)
    expect(Object.getOwnPropertyDescriptor(worker, 'callProcessJob')).toBeDefined()
    stop.remove()
    expect(Object.getOwnPropertyDescriptor(worker, 'callProcessJob')).toEqual(own)
    await queue.add('a', {})
    await until(async () => (await queue.getCompletedCount()) === 1)
    const report = await shutdown.shutdown()
    expect(report.phases.flatMap((p) => p.tasks)).toEqual([])
  })
})
