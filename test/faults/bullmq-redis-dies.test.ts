// Fault: Redis dies in the middle of a BullMQ worker's drain. A private redis-server on a port of its own (the
// shared one is never touched) is killed by its PID while jobs run: the drain must still end within its budget,
// with LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE in the report saying what could not be returned or recorded — not
// hang in close() (BullMQ's connections retry forever) and not be cut as a bare timeout.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { stopWorker } from '@lameduck/bullmq'
import { Queue, Worker } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { taskReport, testShutdown } from '../support/shutdown.js'

const missing = spawnSync('redis-server', ['--version']).error ? 'redis-server is not on PATH' : undefined
if (missing && process.env.CI === 'true') throw new Error(`BullMQ fault test: ${missing}; CI=true requires it`)
if (missing) console.warn(`skipping "Redis dies mid-drain": ${missing} (under CI=true this fails)`)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

;(missing ? describe.skip : describe)('Redis dies mid-drain (BullMQ worker)', () => {
  let redis: ChildProcess
  let port: number
  beforeAll(async () => {
    port = await freePort()
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    for (let i = 0; ; i++) {
      const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' })
      if (ping.stdout?.trim() === 'PONG') break
      if (i === 50) throw new Error(`the private redis-server on ${port} did not start`)
      await delay(100)
    }
  })
  afterAll(() => {
    if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL')
  })

  it('ends within its budget with a clear error: what could not be returned or recorded, connections dropped', async () => {
    const connection = { host: '127.0.0.1', port }
    const queue = new Queue('dies', { connection })
    queue.on('error', () => {})
    // Long jobs that ignore their signal (to be returned), and short ones that finish after Redis is gone (their
    // results cannot be recorded).
    const worker = new Worker(
      'dies',
      async (job) => {
        await delay(job.data.ms)
        return 'done'
      },
      { connection, concurrency: 20 },
    )
    worker.on('error', () => {})
    const shutdown = testShutdown()
    const stop = stopWorker(shutdown, worker, { timeoutMs: 2_000, cancelMs: 300, returnMs: 400 })
    await queue.addBulk([
      ...Array.from({ length: 10 }, (_, i) => ({ name: 'long', data: { ms: 60_000 }, opts: { jobId: `long-${i}` } })),
      ...Array.from({ length: 5 }, (_, i) => ({ name: 'short', data: { ms: 800 }, opts: { jobId: `short-${i}` } })),
    ])
    for (let i = 0; stop.active() < 15; i++) {
      if (i === 200) throw new Error('the jobs did not start')
      await delay(20)
    }

    const started = performance.now()
    const running = shutdown.shutdown('test')
    await delay(300)
    redis.kill('SIGKILL')
    const report = await running
    const elapsed = performance.now() - started
    queue.disconnect().catch(() => {})

    const task = taskReport(report, 'bullmq-worker')
    expect(task.outcome, task.error).toBe('error')
    expect(task.code).toBe('LAMEDUCK_ERR_BULLMQ_REDIS_UNAVAILABLE')
    expect(task.durationMs).toBeLessThanOrEqual(2_000)
    expect(elapsed).toBeLessThan(3_000)
    expect(task.error).toMatch(
      /^Redis failed during the drain \(.+\): 10 job\(s\) could not be moved back to wait and 5 finished job\(s\) were not recorded/,
    )
    expect(stop.stats).toMatchObject({
      activeAtStart: 15,
      notReturned: 10,
      unrecorded: 5,
      returned: 0,
      closed: false,
      disconnected: true,
    })
  }, 20_000)
})
