// Real queues on the real Redis (REDIS_URL) for the tests of @lameduck/bullmq: every test run has its own key
// prefix and its own queue names, and everything created under them is deleted afterwards (queues obliterated,
// then whatever is left under the prefix). Never a FLUSHDB: the Redis is shared.
import { randomUUID } from 'node:crypto'
import { type ConnectionOptions, type Job, type Processor, Queue, Worker, type WorkerOptions } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll } from 'vitest'
import { REDIS_URL } from '../../../test/support/services.js'
import { deleteKeys } from '../../../test/support/stores.js'

/** ioredis options for a redis:// URL (BullMQ takes options or a client, not a URL). */
export function redisOptions(url: string = REDIS_URL): { host: string; port: number; db: number; password?: string } {
  const { hostname, port, pathname, password } = new URL(url)
  const db = Number(pathname.replace('/', '') || 0)
  return { host: hostname, port: Number(port || 6379), db, ...(password ? { password } : {}) }
}

export interface TestQueues {
  /** The BullMQ key prefix of this run: `lameduck-bullmq-<id>`. */
  readonly prefix: string
  /** A new queue with a unique name, closed and obliterated after the suite (`prefix`: another key prefix). */
  queue(label?: string, options?: { prefix?: string }): Queue
  /** A worker on `queue`, closed (forced) after the suite if the test did not. */
  worker<T = unknown, R = unknown>(
    queue: Queue,
    processor: Processor<T, R>,
    options?: Partial<WorkerOptions>,
  ): Worker<T, R>
  /** A plain ioredis client on the test Redis, quit after the suite. */
  readonly redis: Redis
  connection(): ConnectionOptions
}

/** Per suite: queues and workers of its own, all removed afterwards. */
export function useQueues(name: string): TestQueues {
  const prefix = `lameduck-bullmq-${name}-${randomUUID().slice(0, 8)}`
  const queues: Queue[] = []
  const workers: Worker[] = []
  const redis = new Redis({ ...redisOptions(), lazyConnect: true, maxRetriesPerRequest: 2 })
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close(true).catch(() => {})))
    for (const queue of queues) {
      await queue.obliterate({ force: true }).catch(() => {})
      await queue.close().catch(() => {})
    }
    await deleteKeys(redis, `${prefix}:*`).catch(() => {})
    await redis.quit().catch(() => redis.disconnect())
  }, 30_000)
  let count = 0
  return {
    prefix,
    redis,
    connection: () => redisOptions(),
    queue(label = 'q', options = {}) {
      const name = `${label}-${++count}${options.prefix === undefined ? '' : `-${prefix}`}`
      const queue = new Queue(name, { connection: redisOptions(), prefix: options.prefix ?? prefix })
      queue.on('error', () => {})
      queues.push(queue)
      return queue
    },
    worker(queue, processor, options = {}) {
      const worker = new Worker(queue.name, processor, { connection: redisOptions(), prefix, ...options })
      worker.on('error', () => {})
      workers.push(worker as Worker)
      return worker
    },
  }
}

/** How many times each job was recorded completed (the queue's event stream; BullMQ writes one per completion). */
export async function completions(redis: Redis, queue: Queue): Promise<Map<string, number>> {
  const key = `${queue.opts.prefix}:${queue.name}:events`
  const counts = new Map<string, number>()
  const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][]
  for (const [, fields] of entries) {
    const event: Record<string, string> = {}
    for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i] as string] = fields[i + 1] as string
    if (event.event === 'completed' && event.jobId !== undefined)
      counts.set(event.jobId, (counts.get(event.jobId) ?? 0) + 1)
  }
  return counts
}

/** Resolves when `check()` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export type { Job }
