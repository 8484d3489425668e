// The adapter contract of @lameduck/core/adapter for stopWorker, through the shared table-driven suite, and what
// a JavaScript caller can get wrong with its own arguments: one named error per mistake. The workers are real
// (on the real Redis, never started: `autorun: false`).
import { createRequire } from 'node:module'
import { BULLMQ_DEFAULTS, stopWorker } from '@lameduck/bullmq'
import { Queue, Worker } from 'bullmq'
import { afterAll, describe, expect, it } from 'vitest'
import { describeAdapterContract, expectRefused, hiding } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { redisOptions } from './helpers.js'

// Built first (pnpm --filter @lameduck/bullmq build): the CommonJS copy of the package.
const commonJs = createRequire(import.meta.url)('@lameduck/bullmq') as typeof import('@lameduck/bullmq')

const made: Worker[] = []
const idleWorker = () => {
  const worker = new Worker('lameduck-contract', async () => 'x', { connection: redisOptions(), autorun: false })
  worker.on('error', () => {})
  made.push(worker)
  return worker
}
afterAll(async () => {
  await Promise.all(made.map((worker) => worker.close(true).catch(() => {})))
})

await describeWith('Redis', 'stopWorker: contract and misuse', () => {
  describeAdapterContract('@lameduck/bullmq', [
    {
      where: 'stopWorker',
      defaults: BULLMQ_DEFAULTS,
      resource: () => idleWorker(),
      register: (shutdown, resource, options) => stopWorker(shutdown, resource as Worker, options as never),
      members: ['active', 'stats'],
      durations: { cancelMs: {}, returnMs: {} },
      registerCommonJs: (shutdown, resource) => commonJs.stopWorker(shutdown, resource as Worker),
    },
  ])

  describe('stopWorker: wrong arguments and options', () => {
    const shutdown = testShutdown()
    const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'

    it('refuses what is not a Worker — a Queue, a processor, nothing — and the arguments swapped', async () => {
      const queue = new Queue('lameduck-contract', { connection: redisOptions() })
      queue.on('error', () => {})
      await expectRefused(
        () => stopWorker(shutdown, queue as never),
        INVALID,
        /worker argument of stopWorker: expected a BullMQ Worker; got .*which has no run\(\) method/,
      )
      await queue.close()
      for (const nothing of [undefined, null, 'emails', async () => {}])
        await expectRefused(
          () => stopWorker(shutdown, nothing as never),
          INVALID,
          /worker argument of stopWorker: expected a BullMQ Worker/,
        )
      const worker = idleWorker()
      await expectRefused(
        () => stopWorker(worker as never, worker),
        INVALID,
        /shutdown argument of stopWorker.*stopWorker\(shutdown, worker, options\?\)/,
      )
    })

    it('refuses typos with a suggestion, and wrong durations naming the option', async () => {
      const worker = idleWorker()
      await expectRefused(
        () => stopWorker(shutdown, worker, { cancel: 100 } as never),
        'LAMEDUCK_ERR_UNKNOWN_OPTION',
        /stopWorker: unknown option "cancel" — did you mean "cancelMs"\?/,
      )
      await expectRefused(
        () => stopWorker(shutdown, worker, { returnMs: -5 }),
        'LAMEDUCK_ERR_INVALID_DURATION',
        /returnMs of stopWorker/,
      )
      await expectRefused(
        () => stopWorker(shutdown, worker, { concurrency: 5 } as never),
        'LAMEDUCK_ERR_UNKNOWN_OPTION',
        /stopWorker: unknown option "concurrency"/,
      )
    })

    it('leaves the worker as it was after a refused call', () => {
      const worker = idleWorker()
      expect(() => stopWorker(shutdown, worker, { cancelMs: null } as never)).toThrow()
      expect(Object.getOwnPropertyDescriptor(worker, 'callProcessJob')).toBeUndefined()
    })
  })

  describe('a Worker without callProcessJob (the fallback)', () => {
    it('warns at registration, and the drain closes the worker within its budget all the same', async () => {
      const logger = memoryLogger()
      const shutdown = testShutdown({ logger })
      const warnings: string[] = []
      shutdown.on('warning', (warning) => warnings.push(warning.code))
      const worker = idleWorker()
      const stop = stopWorker(shutdown, hiding(worker, 'callProcessJob'))
      expect(warnings).toEqual(['LAMEDUCK_WARN_BULLMQ_INTERNALS'])
      expect(Object.getOwnPropertyDescriptor(worker, 'callProcessJob')).toBeUndefined()
      const report = await shutdown.shutdown()
      expect(taskReport(report, 'bullmq-worker').outcome).toBe('ok')
      expect(stop.stats).toMatchObject({ activeAtStart: 0, closed: true })
      expect(worker.closing).toBeDefined()
    })
  })
})
