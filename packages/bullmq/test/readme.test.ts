import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BULLMQ_DEFAULTS, STOP_WORKER_OPTIONS } from '@lameduck/bullmq'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { spawnChild } from '../../../test/support/child.js'
import { describeWith } from '../../../test/support/services.js'
import { completions, redisOptions, until, useQueues } from './helpers.js'

// Defaults live in BULLMQ_DEFAULTS and the option list the checks use: this keeps the README's table from
// drifting from either; and the README's snippet runs as written, as a user's worker service would.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  stopWorker: '## `stopWorker(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options stopWorker accepts, each with a type', () => {
    expect([...tables.stopWorker.keys()].sort()).toEqual([...STOP_WORKER_OPTIONS].sort())
    for (const [option, cells] of tables.stopWorker) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults BULLMQ_DEFAULTS holds', () => {
    for (const key of STOP_WORKER_OPTIONS) expect(defaultOf('stopWorker', key)).toContain(literal(BULLMQ_DEFAULTS[key]))
    expect(defaultOf('stopWorker', 'name')).toContain(literal(`${BULLMQ_DEFAULTS.name}-2`))
  })
})

const root = fileURLToPath(new URL('../../../', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

await describeWith('Redis', 'the README snippet, as written', () => {
  const q = useQueues('readme')

  it('works its jobs, and at SIGTERM finishes the short ones, returns the long ones to the queue and exits', async () => {
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(snippet).toBeDefined()
    // A user's project: the snippet as worker.mjs beside a node_modules holding the built packages and bullmq.
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-bullmq-readme-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
    for (const pkg of ['core', 'bullmq'])
      symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
    symlinkSync(
      realpathSync(join(root, 'packages/bullmq/node_modules/bullmq')),
      join(dir, 'node_modules/bullmq'),
      'dir',
    )
    writeFileSync(join(dir, 'package.json'), '{ "name": "readme-worker", "private": true, "type": "module" }\n')
    writeFileSync(join(dir, 'worker.mjs'), snippet as string)

    // The snippet's queue, under the default prefix: a name of this run's own, obliterated afterwards.
    const queue = q.queue('readme', { prefix: 'bull' })
    const { host, port } = redisOptions()
    const child = spawnChild(process.execPath, ['worker.mjs'], {
      cwd: dir,
      env: { QUEUE: queue.name, REDIS_HOST: host, REDIS_PORT: String(port), KUBERNETES_SERVICE_HOST: undefined },
    })
    try {
      await queue.addBulk([
        ...Array.from({ length: 20 }, (_, i) => ({ name: 'short', data: { ms: 500 }, opts: { jobId: `short-${i}` } })),
        ...Array.from({ length: 5 }, (_, i) => ({ name: 'long', data: { ms: 60_000 }, opts: { jobId: `long-${i}` } })),
      ])
      await until(async () => (await queue.getActiveCount()) === 25, 15_000, 'the snippet to take every job')
      child.mark()
      child.child.kill('SIGTERM')
      const exited = await child.exited
      const output = [...child.stdout, ...child.stderr].join('\n')
      expect(exited.elapsedMs, output).toBeLessThan(5_500)
      expect(exited.code, output).toBe(1)
      expect(output).toContain('LAMEDUCK_ERR_BULLMQ_JOBS_RETURNED')
      expect(await queue.getJobCounts('active', 'wait', 'completed', 'failed')).toEqual({
        active: 0,
        wait: 5,
        completed: 20,
        failed: 0,
      })
      expect([...(await completions(q.redis, queue)).values()].every((n) => n === 1)).toBe(true)
    } finally {
      child.dispose()
    }
  }, 30_000)
})
