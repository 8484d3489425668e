// A real worker process (fixtures/consumer.mjs) with 300 deliveries in flight on a real RabbitMQ, sent a real
// SIGTERM, and SIGKILL at its grace period as the kubelet does. Then a second consumer takes what is in the
// queue. With lameduck: every message processed to completion exactly once or back in the queue at once,
// flagged redelivered — none lost, none processed twice, none left unacknowledged — every result published
// during the drain confirmed, and the process gone before its deadline. The control, amqplib's own
// `connection.close()` on SIGTERM, processes messages twice (their acks fail after the close, so they are
// redelivered) and outlives the grace period: so this test can fail. Last, the broker dies mid-drain.
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { describeWith } from '../../../test/support/services.js'
import { loggedReport, taskReport } from '../../../test/support/shutdown.js'
import { AMQP_URL, brokerProxy, queueName, queueWith, ready, takeAll } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/consumer.mjs', import.meta.url))
const COUNT = 300
const GRACE_MS = 8000
const DRAIN_TIMEOUT_MS = 4000
/** The drain's budget and the close's (2 s) fit the grace period less lameduck's safety margin (1 s). */
/** Every 15th job is slow (60 s): half of them watch their AbortSignal, half ignore it. */
const SLOW_EVERY = 15
const SLOW = COUNT / SLOW_EVERY

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

interface Run {
  child: RunningChild
  exit: { code: number | null; signal: NodeJS.Signals | null; elapsedMs: number }
  /** Ids whose job completed in the worker. */
  done: string[]
  /** What a second consumer found in the queue afterwards. */
  back: { body: string; redelivered: boolean }[]
  /** The results the worker published (confirm channel). */
  results: string[]
}

async function run(
  mode: 'lameduck' | 'plain',
  env: Record<string, string> = {},
  during?: (child: RunningChild) => Promise<void>,
): Promise<Run> {
  const t0 = performance.now()
  const debug = (what: string) => {
    if (process.env.AMQP_TEST_DEBUG) console.log(`${what} at ${Math.round(performance.now() - t0)} ms`)
  }
  const queue = await queueWith(COUNT, 'jobs')
  const results = queueName('results')
  const child = spawnChild(process.execPath, [fixture], {
    env: {
      AMQP_URL,
      QUEUE: queue,
      RESULTS: results,
      SHUTDOWN: mode,
      PREFETCH: String(COUNT),
      SLOW_EVERY: String(SLOW_EVERY),
      GRACE_MS: String(GRACE_MS),
      DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
      ...env,
    },
  })
  children.push(child)
  debug('queued')
  await child.waitFor(`in-flight ${COUNT}`, 20_000)
  debug('in flight')
  child.mark()
  child.child.kill('SIGTERM')
  // The kubelet's SIGKILL at the end of the grace period.
  const kill = setTimeout(() => child.child.kill('SIGKILL'), GRACE_MS)
  await during?.(child)
  const exit = await child.exited
  clearTimeout(kill)
  debug('exited')
  // Nothing left unacknowledged: once the worker is gone, every delivery not acked is ready again, at once
  // (not after a timeout) — the broker only has to notice the connection's end.
  const expected = COUNT - new Set(child.stdout.filter((l) => l.startsWith('done '))).size
  const readyAt = performance.now()
  for (let i = 0; i < 40 && (await ready(queue)) < expected; i++) await new Promise((r) => setTimeout(r, 50))
  if (process.env.AMQP_TEST_DEBUG) console.log(`ready after ${Math.round(performance.now() - readyAt)} ms`)
  return {
    child,
    exit,
    done: child.stdout.filter((l) => l.startsWith('done ')).map((l) => l.slice(5)),
    back: await takeAll(queue),
    results: (await takeAll(results)).map((m) => m.body),
  }
}

/** What became of each message: processed twice (completed, and back in the queue) and lost (neither). */
function verdict({ done, back }: Run) {
  const completed = new Set(done)
  const returned = new Set(back.map((m) => m.body))
  const all = Array.from({ length: COUNT }, (_, i) => String(i))
  return {
    completedTwice: done.length - completed.size,
    processedTwice: back.filter((m) => completed.has(m.body)).length,
    lost: all.filter((id) => !completed.has(id) && !returned.has(id)).length,
    notRedelivered: back.filter((m) => !m.redelivered).length,
  }
}

await describeWith('RabbitMQ', 'a worker with 300 deliveries in flight at SIGTERM', () => {
  it('lameduck: each message done exactly once or back in the queue at once; results confirmed; gone before the deadline', async () => {
    const result = await run('lameduck')
    const output = [...result.child.stdout, ...result.child.stderr].join('\n').slice(-4000)
    expect(verdict(result), output).toEqual({ completedTwice: 0, processedTwice: 0, lost: 0, notRedelivered: 0 })
    // Gone well before the kubelet's SIGKILL: the drain's budget plus the close.
    expect(result.exit.signal, output).toBeNull()
    expect(result.exit.elapsedMs).toBeLessThan(GRACE_MS - 1000)
    // The fast jobs all finished and were acked; the slow ones came back: those watching their signal at the
    // abort, those ignoring it at the stop time — and the report says so (exit code 1: the drain was cut).
    expect(result.done).toHaveLength(COUNT - SLOW)
    expect(result.back.map((m) => Number(m.body) % SLOW_EVERY)).toEqual(new Array(SLOW).fill(0))
    expect(result.exit.code).toBe(1)
    const report = loggedReport(result.child.stderr)
    expect(report, output).toBeDefined()
    const drain = taskReport(report!, 'amqp-consumers')
    expect(drain.code).toBe('LAMEDUCK_ERR_AMQP_REQUEUED')
    expect(drain.error).toMatch(
      new RegExp(
        `^${SLOW} delivery\\(ies\\) did not finish .*\\(${SLOW / 2} stopped after their AbortSignal aborted, ${SLOW / 2} still running`,
      ),
    )
    expect(taskReport(report!, 'amqp-close').outcome).toBe('ok')
    // Every result published during the drain was confirmed before the connection closed.
    expect(result.results.sort()).toEqual([...result.done].sort())
  }, 60_000)

  it('the control, amqplib’s own connection.close(): completed jobs come back (processed twice), and it outlives the grace period', async () => {
    const result = await run('plain')
    const outcome = verdict(result)
    expect(outcome.lost).toBe(0)
    expect(outcome.processedTwice).toBeGreaterThan(0)
    expect(result.child.stdout.filter((l) => l.startsWith('ack-failed ')).length).toBe(outcome.processedTwice)
    // The slow jobs keep it alive until the kubelet's SIGKILL.
    expect(result.exit.signal).toBe('SIGKILL')
  }, 60_000)

  it('the broker dies mid-drain: the drain and the close end at once with clear errors, and every delivery is redelivered', async () => {
    const proxy = await brokerProxy()
    const url = new URL(AMQP_URL)
    url.hostname = '127.0.0.1'
    url.port = String(proxy.port)
    // Every job is long (and watches its signal): nothing is acked before the broker goes.
    const result = await run(
      'lameduck',
      { AMQP_URL: url.toString(), WORK_MIN_MS: '60000', WORK_MAX_MS: '60000', SLOW_EVERY: '0' },
      async (child) => {
        await child.waitFor('task amqp-consumers', 5000)
        await new Promise((resolve) => setTimeout(resolve, 300))
        await proxy.kill()
      },
    )
    const output = [...result.child.stdout, ...result.child.stderr].join('\n').slice(-4000)
    expect(result.exit.signal, output).toBeNull()
    expect(result.exit.code).toBe(1)
    expect(result.exit.elapsedMs).toBeLessThan(3000)
    const report = loggedReport(result.child.stderr)!
    expect(taskReport(report, 'amqp-consumers')).toMatchObject({
      outcome: 'error',
      code: 'LAMEDUCK_ERR_AMQP_CHANNEL_LOST',
    })
    expect(taskReport(report, 'amqp-consumers').error).toMatch(/300 delivery\(ies\) in flight could not be settled/)
    expect(taskReport(report, 'amqp-close').code).toBe('LAMEDUCK_ERR_AMQP_CONNECTION_LOST')
    expect(result.done).toEqual([])
    expect(verdict(result)).toEqual({ completedTwice: 0, processedTwice: 0, lost: 0, notRedelivered: 0 })
    expect(result.back).toHaveLength(COUNT)
  }, 60_000)
})
