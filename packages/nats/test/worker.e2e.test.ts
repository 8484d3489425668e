// The acceptance, with real processes: a worker (test/fixtures/worker.mjs, loading the built packages)
// with a few hundred messages in flight gets a real SIGTERM. With lameduck every message is processed to
// completion exactly once or given back and redelivered at once, and the process exits before its deadline;
// with the client's own drain() (the control) messages are lost (core) or left unacknowledged until ack_wait
// (JetStream). And the fault: the NATS server dies in the middle of the drain.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { describeWith } from '../../../test/support/services.js'
import { loggedReport, taskReport } from '../../../test/support/shutdown.js'
import {
  after,
  eventually,
  NATS_URL,
  natsConnect,
  pause,
  privateServer,
  type TestStream,
  testStream,
  unique,
} from './helpers.js'

const worker = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))

function start(env: Record<string, string>): RunningChild {
  const child = spawnChild(process.execPath, [worker], { env: { NATS_URL, WORKER_MODE: 'lameduck', ...env } })
  after(async () => child.dispose())
  return child
}

/** The ids a worker printed as processed to completion. */
const doneBy = (child: RunningChild): string[] =>
  child.stdout.filter((line) => line.startsWith('done ')).map((line) => line.slice(5))

/** Reads the consumer as another replica would until `count` messages came, or `ms` passed; acks each. */
async function readRest(stream: TestStream, count: number, ms = 5_000) {
  const nc = await natsConnect()
  const messages = await (await stream.consumer(nc)).consume({ max_messages: 1000 })
  const got: { id: string; redelivered: boolean }[] = []
  const started = performance.now()
  const timer = setTimeout(() => messages.stop(), ms)
  if (count > 0)
    for await (const msg of messages) {
      got.push({ id: msg.string(), redelivered: msg.redelivered })
      msg.ack()
      if (got.length >= count) break
    }
  clearTimeout(timer)
  await nc.drain()
  return { got, ms: performance.now() - started }
}

const N = 600

await describeWith('NATS', '@lameduck/nats: a worker with messages in flight at SIGTERM', () => {
  describe.each(['v3', 'v2'])('JetStream pull consumer (nats.js %s)', (client) => {
    it("lameduck: each message processed once or nak'ed and redelivered at once; exits before the deadline", async () => {
      const nc = await natsConnect()
      const stream = await testStream(nc)
      await stream.publish(N)
      // About 300 buffered + 4 running at 200 messages/s; 1 s of budget: some finish, the rest go back.
      const child = start({
        CLIENT: client,
        KIND: 'jetstream',
        STREAM: stream.name,
        CONSUMER: stream.durable,
        WORK_MS: '20',
        CONCURRENCY: '4',
        MAX_MESSAGES: '300',
        TIMEOUT_MS: '1000',
        ABORT_GRACE_MS: '300',
        GRACE_MS: '6000',
      })
      await child.waitFor('ready')
      expect(await eventually(() => doneBy(child).length >= 20)).toBe(true)
      child.mark()
      child.child.kill('SIGTERM')
      const exited = await child.exited
      const output = `${child.stdout.join('\n')}\n${child.stderr.join('\n')}`
      expect(exited.code, output).toBe(0)
      // The deadline is 6 s − 1 s after the signal; the drain's budget is 1 s.
      expect(exited.elapsedMs).toBeLessThan(3_000)
      const stats = JSON.parse(child.stdout.find((line) => line.startsWith('stats '))?.slice(6) ?? '{}')
      expect(stats).toMatchObject({ fenced: true, confirmed: true, abandoned: 0 })
      expect(stats.handled).toBeGreaterThan(50)
      expect(stats.naked).toBeGreaterThan(50)

      const done = doneBy(child)
      expect(new Set(done).size).toBe(done.length)
      // Another replica gets the rest at once — ack_wait is 60 s, so nothing comes back by timing out.
      const rest = await readRest(stream, N - done.length)
      expect(rest.ms).toBeLessThan(4_000)
      const again = rest.got.map((m) => m.id)
      expect(again.filter((id) => done.includes(id))).toEqual([])
      expect(new Set([...done, ...again]).size).toBe(N)
      expect(again.length).toBe(N - done.length)
      expect(rest.got.filter((m) => m.redelivered).length).toBe(stats.naked)
      expect(await stream.info()).toMatchObject({ ackPending: 0, pending: 0 })
    })
  })

  it("control: the client's own drain() leaves the buffered JetStream messages unacknowledged until ack_wait", async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(N)
    const child = start({
      WORKER_MODE: 'drain',
      KIND: 'jetstream',
      STREAM: stream.name,
      CONSUMER: stream.durable,
      WORK_MS: '20',
      CONCURRENCY: '4',
      MAX_MESSAGES: '200',
    })
    await child.waitFor('ready')
    expect(await eventually(() => doneBy(child).length >= 20)).toBe(true)
    child.child.kill('SIGTERM')
    expect((await child.exited).code).toBe(0)
    const done = doneBy(child)
    // Another replica reads for 2 s: what the worker had buffered does not come (it would after 60 s).
    const rest = await readRest(stream, N, 2_000)
    const stranded = N - done.length - rest.got.length
    expect(stranded).toBeGreaterThan(100)
    expect((await stream.info()).ackPending).toBeGreaterThanOrEqual(stranded)
  })

  it('core subscription, lameduck: every buffered message handled before the exit', async () => {
    const publisher = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const child = start({ KIND: 'core', SUBJECT: subject, WORK_MS: '5', TIMEOUT_MS: '5000' })
    await child.waitFor('ready')
    for (let i = 0; i < 200; i++) publisher.publish(subject, String(i))
    await publisher.flush()
    expect(await eventually(() => doneBy(child).length >= 10)).toBe(true)
    child.mark()
    child.child.kill('SIGTERM')
    const exited = await child.exited
    expect(exited.code, child.stderr.join('\n')).toBe(0)
    expect(exited.elapsedMs).toBeLessThan(5_000)
    expect(new Set(doneBy(child)).size).toBe(200)
  })

  it("core subscription, control: the client's own drain() exits with most of the 200 never handled", async () => {
    const publisher = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const child = start({ WORKER_MODE: 'drain', KIND: 'core', SUBJECT: subject, WORK_MS: '5' })
    await child.waitFor('ready')
    for (let i = 0; i < 200; i++) publisher.publish(subject, String(i))
    await publisher.flush()
    expect(await eventually(() => doneBy(child).length >= 10)).toBe(true)
    child.child.kill('SIGTERM')
    expect((await child.exited).code).toBe(0)
    expect(doneBy(child).length).toBeLessThan(150)
  })

  it('fault: the NATS server dies mid-drain — the task ends within its budget with a clear error', async () => {
    const server = await privateServer()
    const nc = await natsConnect(server.url)
    const stream = await testStream(nc)
    await stream.publish(100)
    const child = start({
      NATS_URL: server.url,
      KIND: 'jetstream',
      STREAM: stream.name,
      CONSUMER: stream.durable,
      WORK_MS: '200',
      CONCURRENCY: '4',
      MAX_MESSAGES: '50',
      TIMEOUT_MS: '3000',
      DRAIN_TIMEOUT_MS: '1000',
      GRACE_MS: '8000',
    })
    await child.waitFor('ready')
    expect(await eventually(() => doneBy(child).length >= 4)).toBe(true)
    child.mark()
    child.child.kill('SIGTERM')
    await pause(100)
    server.kill()
    const exited = await child.exited
    expect(exited.code).toBe(1)
    // Well before the deadline (7 s): the consumer gives up once the server is gone and its handlers are done;
    // the connection's drain waits its 1 s for a reconnect.
    expect(exited.elapsedMs).toBeLessThan(4_000)
    const report = loggedReport(child.stderr)
    expect(report, child.stderr.join('\n')).toBeDefined()
    const consumerTask = taskReport(report!, 'nats-consumer')
    expect(consumerTask.code).toBe('LAMEDUCK_ERR_NATS_UNCONFIRMED')
    expect(consumerTask.error).toMatch(/the NATS server was unreachable/)
    const connectionTask = taskReport(report!, 'nats-connection')
    // nats.js refuses to drain a connection that is down (or the drain did not finish in its budget).
    expect(['LAMEDUCK_ERR_NATS_DRAIN_FAILED', 'LAMEDUCK_ERR_NATS_DRAIN_TIMEOUT']).toContain(connectionTask.code)
    expect(connectionTask.error).toMatch(/the server was unreachable/)
  })
})
