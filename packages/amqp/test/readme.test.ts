// The README agrees with the code — its option tables with the option lists the checks use and with
// AMQP_DEFAULTS — and its snippet runs as written, as a user's worker would, against a real RabbitMQ.
import { spawn } from 'node:child_process'
import { AMQP_DEFAULTS, CLOSE_OPTIONS, CONSUME_OPTIONS, CONSUMERS_OPTIONS } from '@lameduck/amqp'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { project, removeProjects } from '../../../test/support/readme.js'
import { describeWith } from '../../../test/support/services.js'
import { AMQP_URL, connect, queueName, ready, takeAll } from './helpers.js'

const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  consumers: '## `createConsumers(',
  consume: '## `consumers.consume(',
  close: '## `closeAmqp(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options each function accepts, each with a type', () => {
    expect([...tables.consumers.keys()].sort()).toEqual([...CONSUMERS_OPTIONS].sort())
    expect([...tables.consume.keys()].sort()).toEqual([...CONSUME_OPTIONS].sort())
    expect([...tables.close.keys()].sort()).toEqual([...CLOSE_OPTIONS].sort())
    for (const table of Object.values(tables))
      for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults AMQP_DEFAULTS holds', () => {
    const { consumers, close } = AMQP_DEFAULTS
    for (const key of ['name', 'phase', 'timeoutMs', 'critical'] as const) {
      expect(defaultOf('consumers', key)).toContain(literal(consumers[key]))
      expect(defaultOf('close', key)).toContain(literal(close[key]))
    }
    expect(defaultOf('consumers', 'name')).toContain(literal(`${consumers.name}-2`))
    expect(defaultOf('close', 'name')).toContain(literal(`${close.name}-2`))
    expect(defaultOf('consumers', 'abortBeforeMs')).toBe(literal(AMQP_DEFAULTS.abortBeforeMs))
    expect(defaultOf('consumers', 'failures')).toBe(literal(AMQP_DEFAULTS.failures))
    expect(defaultOf('close', 'closeMs')).toBe(literal(AMQP_DEFAULTS.closeMs))
  })
})

afterAll(removeProjects)

await describeWith('RabbitMQ', 'the README snippet, as written', () => {
  it('works the jobs, and at SIGTERM finishes and acks those in flight, leaves the rest queued, and exits 0', async () => {
    const jobs = queueName('readme-jobs')
    const results = queueName('readme-results')
    const connection = await connect()
    const publisher = await connection.createConfirmChannel()
    await publisher.assertQueue(jobs) // durable, as the snippet declares it
    for (let id = 0; id < 60; id++) publisher.sendToQueue(jobs, Buffer.from(JSON.stringify({ id })))
    await publisher.waitForConfirms()
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] as string
    const dir = project({ 'worker.mjs': snippet }, { packages: ['amqp'], modules: { amqplib: 'amqp' } })
    const env: NodeJS.ProcessEnv = { ...process.env, AMQP_URL, JOBS_QUEUE: jobs, RESULTS_QUEUE: results }
    delete env.KUBERNETES_SERVICE_HOST
    const child = spawn(process.execPath, ['worker.mjs'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      // Its first 20 jobs (the prefetch) in flight: SIGTERM.
      const channel = await connection.createChannel()
      for (let i = 0; i < 200 && (await channel.checkQueue(jobs)).consumerCount === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 25))
      await new Promise((resolve) => setTimeout(resolve, 50))
      const start = performance.now()
      child.kill('SIGTERM')
      expect(await exited, output).toBe(0)
      expect(performance.now() - start).toBeLessThan(5000)
      const done = (await takeAll(results)).map((m) => (JSON.parse(m.body) as { id: number }).id)
      const left = (await takeAll(jobs)).map((m) => (JSON.parse(m.body) as { id: number }).id)
      // Each job done once or still queued, never both; those in flight at SIGTERM were finished, not requeued.
      expect([...done, ...left].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i))
      expect(done.length).toBeGreaterThanOrEqual(20)
      expect(await ready(jobs)).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
