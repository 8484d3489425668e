import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TASK_OPTION_KEYS } from '@lameduck/core/adapter'
import { CONSUME_OPTIONS, NATS_DEFAULTS } from '@lameduck/nats'
import { afterAll, describe, expect, it } from 'vitest'
import { literal, readmeTables } from '../../../test/support/adapter-contract.js'
import { jsonLines, spawnChild } from '../../../test/support/child.js'
import { describeWith } from '../../../test/support/services.js'
import { eventually, NATS_URL, natsConnect, testStream, unique } from './helpers.js'

// Defaults live in NATS_DEFAULTS and the option list the checks use: this keeps the README's tables from
// drifting from either; and the README's snippet runs as written, as a user's worker would.
const { readme, tables, defaultOf } = readmeTables(new URL('../README.md', import.meta.url), {
  consume: '## `consume(',
  drainNats: '## `drainNats(',
})

describe('README agrees with the code', () => {
  it('documents exactly the options each function accepts, each with a type', () => {
    expect([...tables.consume.keys()].sort()).toEqual([...CONSUME_OPTIONS].sort())
    expect([...tables.drainNats.keys()].sort()).toEqual([...TASK_OPTION_KEYS].sort())
    for (const table of [tables.consume, tables.drainNats])
      for (const [option, cells] of table) expect(cells[1], option).toMatch(/`.+`/)
  })

  it('states the defaults NATS_DEFAULTS holds', () => {
    for (const key of TASK_OPTION_KEYS) {
      expect(defaultOf('consume', key)).toContain(literal(NATS_DEFAULTS.consume[key]))
      expect(defaultOf('drainNats', key)).toContain(literal(NATS_DEFAULTS.drain[key]))
    }
    expect(defaultOf('consume', 'name')).toContain(literal(`${NATS_DEFAULTS.consume.name}-2`))
    for (const key of ['concurrency', 'ack', 'retryDelayMs', 'buffered', 'abortGraceMs'] as const)
      expect(defaultOf('consume', key)).toBe(literal(NATS_DEFAULTS[key]))
    expect(readme).toContain(`if the stream is quiet for ${NATS_DEFAULTS.quietMs} ms`)
  })
})

const root = fileURLToPath(new URL('../../../', import.meta.url))
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

await describeWith('NATS', 'the README snippet, as written', () => {
  it('consumes the orders and answers quotes; at SIGTERM finishes what it holds and exits 0', async () => {
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(snippet).toBeDefined()
    // A user's project: the snippet as worker.mjs beside a node_modules holding the built packages and nats.js.
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-nats-readme-'))
    dirs.push(dir)
    mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
    mkdirSync(join(dir, 'node_modules/@nats-io'), { recursive: true })
    for (const pkg of ['core', 'nats'])
      symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
    for (const pkg of ['transport-node', 'jetstream'])
      symlinkSync(
        realpathSync(join(root, 'packages/nats/node_modules/@nats-io', pkg)),
        join(dir, 'node_modules/@nats-io', pkg),
        'dir',
      )
    writeFileSync(join(dir, 'package.json'), '{ "name": "readme-worker", "private": true, "type": "module" }\n')
    writeFileSync(join(dir, 'worker.mjs'), snippet as string)

    const nc = await natsConnect()
    const stream = await testStream(nc, { durable_name: 'order-worker' })
    await stream.publish(300)
    const quotes = `lameduck.quotes.${unique()}`
    const child = spawnChild(process.execPath, ['worker.mjs'], {
      cwd: dir,
      env: { NATS_URL, ORDERS_STREAM: stream.name, QUOTES: quotes },
    })
    try {
      const acked = async () => (await stream.info()).ackPending === 0 && (await stream.info()).delivered > 50
      expect(await eventually(acked, 10_000), child.stderr.join('\n')).toBe(true)
      const reply = await nc.request(quotes, JSON.stringify({ item: 'x' }), { timeout: 5_000 })
      expect(reply.json()).toEqual({ item: 'x', price: 42 })
      child.child.kill('SIGTERM')
      const exited = await child.exited
      expect(exited.code, child.stderr.join('\n')).toBe(0)
      const events = jsonLines(child.stderr).map((line) => line.event)
      expect(events.filter((event) => event === 'nats.consumer.stopped')).toHaveLength(2)
      expect(events).toContain('nats.drained')
      // Nothing left unacknowledged: handled and acked, or nak'ed at the end and there for the next replica.
      const info = await stream.info()
      expect(info.ackPending === 0 || info.redelivered > 0).toBe(true)
    } finally {
      child.dispose()
    }
  }, 30_000)
})
