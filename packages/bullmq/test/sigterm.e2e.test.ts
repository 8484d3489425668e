// A real worker process, a few hundred jobs in flight, a real SIGTERM: with stopWorker every job is completed
// exactly once or back in wait at once (and then completed by a second worker), none left `active` for the
// stalled-job check, and the process is gone before its deadline. The control: BullMQ's own `worker.close()` on
// SIGTERM, as its guide has it, waits for the long jobs past the budget; at SIGKILL they are left `active`.

import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { describeWith, REDIS_URL } from '../../../test/support/services.js'
import { loggedReport, taskReport } from '../../../test/support/shutdown.js'
import { completions, until, useQueues } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))
const SHORT = 300
const LONG = 100
const TOTAL = SHORT + LONG

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

/** Short jobs of 100–2,000 ms, and long ones of 60 s: half of those watch their signal, half ignore it. */
function jobs() {
  return [
    ...Array.from({ length: SHORT }, (_, i) => ({
      name: 'short',
      data: { ms: 100 + ((i * 37) % 1_900) },
      opts: { jobId: `short-${i}` },
    })),
    ...Array.from({ length: LONG }, (_, i) => ({
      name: 'long',
      data: { ms: 60_000, heeds: i % 2 === 0 },
      opts: { jobId: `long-${i}` },
    })),
  ]
}

await describeWith('Redis', 'a worker process with 400 jobs in flight at SIGTERM', () => {
  const q = useQueues('sigterm')

  const start = (queue: { name: string }, env: Record<string, string>) => {
    const child = spawnChild(process.execPath, [fixture], {
      env: {
        REDIS_URL,
        QUEUE: queue.name,
        PREFIX: q.prefix,
        CONCURRENCY: String(TOTAL),
        READY_AT: String(TOTAL),
        ...env,
      },
    })
    children.push(child)
    return child
  }

  it('stopWorker: every job completed exactly once or back in wait at once, and the process exits before its deadline', async () => {
    const queue = q.queue('lameduck')
    const child = start(queue, { MODE: 'lameduck', GRACE_MS: '8000', TIMEOUT_MS: '3000' })
    await queue.addBulk(jobs())
    await child.waitFor('ready', 20_000)
    child.mark()
    child.child.kill('SIGTERM')
    const exited = await child.exited
    const output = [...child.stdout, ...child.stderr].join('\n')
    // The drain's 3 s, well inside the 8 s grace period (the deadline is 7 s after the signal).
    expect(exited.elapsedMs, output).toBeLessThan(6_000)
    expect(exited.elapsedMs, output).toBeGreaterThan(2_000)
    const report = loggedReport([...child.stdout, ...child.stderr])
    expect(report, output).toBeDefined()
    const task = taskReport(report!, 'bullmq-worker')
    expect(task.code, output).toBe('LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED')
    expect(exited.code).toBe(1)
    expect(child.stderr.join('\n')).not.toMatch(/MaxListenersExceeded/)

    // At once, before any stalled-job check could have run (locks last 30 s): nothing active, the long jobs
    // waiting again without a failed attempt, every short one completed.
    const counts = await queue.getJobCounts('active', 'wait', 'completed', 'failed', 'delayed')
    expect(counts).toEqual({ active: 0, wait: LONG, completed: SHORT, failed: 0, delayed: 0 })
    const waiting = await queue.getWaiting(0, TOTAL)
    expect(waiting.every((job) => job.id?.startsWith('long-') && job.attemptsMade === 0)).toBe(true)

    // A second worker takes them at once; then every job has been recorded completed exactly once.
    const second = q.worker(queue, async () => 'second', { concurrency: 50 })
    await until(async () => (await queue.getCompletedCount()) === TOTAL, 15_000, 'the second worker')
    await second.close()
    const recorded = await completions(q.redis, queue)
    expect(recorded.size).toBe(TOTAL)
    expect([...recorded.values()].filter((n) => n !== 1)).toEqual([])
    expect(await queue.getFailedCount()).toBe(0)
  }, 60_000)

  it("control, BullMQ's own worker.close(): past the budget it still waits, and at SIGKILL the long jobs stay active", async () => {
    const queue = q.queue('close')
    const child = start(queue, { MODE: 'close' })
    await queue.addBulk(jobs())
    await child.waitFor('ready', 20_000)
    child.child.kill('SIGTERM')
    // The same 3 s a drain would get, then what the kubelet does at the end of the grace period.
    await delay(3_000)
    expect(child.child.exitCode).toBeNull()
    child.child.kill('SIGKILL')
    await child.exited
    const counts = await queue.getJobCounts('active', 'wait', 'completed')
    expect(counts).toEqual({ active: LONG, wait: 0, completed: SHORT })
    // Nobody gives them back: a second worker finds nothing to do until their locks expire (30 s) and its
    // stalled-job check moves them.
    const second = q.worker(queue, async () => 'second', { concurrency: 50 })
    await delay(1_500)
    expect(await queue.getJobCounts('active', 'completed')).toEqual({ active: LONG, completed: SHORT })
    await second.close(true)
  }, 60_000)
})
