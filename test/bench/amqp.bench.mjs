// A RabbitMQ worker with 1,000 short deliveries in flight (20–200 ms of work each, prefetch 1,000) is sent
// SIGTERM; the time from the signal to the process's exit is measured, and what became of every message:
// - lameduck: createConsumers + closeAmqp (consumers cancelled, in-flight jobs finished and acked, results'
//   confirms awaited, channels then the connection closed);
// - amqplib's own close: `connection.close()` on SIGTERM, the process exiting when nothing is left to run.
// Both in the same run, alternating rounds so that machine noise hits both alike. After each round a second
// consumer takes what is left in the queue: a job done by the worker and also back in the queue was processed
// twice; one neither done nor back would be lost.
//
//   pnpm build && node test/bench/amqp.bench.mjs          (or: pnpm bench amqp)
//   BENCH_AMQP_MESSAGES=200 BENCH_ROUNDS=1 node test/bench/amqp.bench.mjs     (a quick smoke run)
//
// Needs RabbitMQ (AMQP_URL, default amqp://guest:guest@127.0.0.1:5672); queues are named for the run and deleted.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { median } from './lib.mjs'

const amqp = createRequire(new URL('../../packages/amqp/package.json', import.meta.url))('amqplib')
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const count = Number(process.env.BENCH_AMQP_MESSAGES ?? 1000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const fixture = fileURLToPath(new URL('../../packages/amqp/test/fixtures/consumer.mjs', import.meta.url))
const run = randomUUID().slice(0, 8)
let queues = 0

const connection = await amqp.connect(AMQP_URL)
const channel = await connection.createConfirmChannel()

async function round(mode) {
  const queue = `lameduck-amqp-bench-${run}-${++queues}`
  const results = `${queue}-results`
  await channel.assertQueue(queue, { durable: false })
  for (let i = 0; i < count; i++) channel.sendToQueue(queue, Buffer.from(String(i)))
  await channel.waitForConfirms()
  const child = spawn(process.execPath, [fixture], {
    env: {
      ...process.env,
      AMQP_URL,
      QUEUE: queue,
      RESULTS: results,
      SHUTDOWN: mode,
      PREFETCH: String(count),
      WORK_MIN_MS: '20',
      WORK_MAX_MS: '200',
      GRACE_MS: '30000',
      DRAIN_TIMEOUT_MS: '10000',
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const lines = []
  let partial = ''
  let inFlight
  const started = new Promise((resolve, reject) => {
    inFlight = resolve
    child.once('exit', (code) =>
      reject(new Error(`the ${mode} worker exited (${code}) before its jobs were in flight`)),
    )
  })
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const split = (partial + chunk).split('\n')
    partial = split.pop() ?? ''
    for (const line of split) {
      lines.push(line)
      if (line === `in-flight ${count}`) inFlight()
    }
  })
  await started
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  const sentAt = performance.now()
  child.kill('SIGTERM')
  const code = await exited
  const ms = performance.now() - sentAt
  const done = new Set(lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5)))
  // What is left: every unacknowledged delivery is back once the worker's connection is gone.
  const back = []
  const { messageCount } = await channel.checkQueue(queue)
  if (messageCount > 0) {
    await channel.prefetch(1000)
    let all
    const taken = new Promise((resolve) => {
      all = resolve
    })
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message === null) return
      back.push(message.content.toString())
      channel.ack(message)
      if (back.length === messageCount) all()
    })
    await Promise.race([taken, new Promise((resolve) => setTimeout(resolve, 10_000))])
    await channel.cancel(consumerTag)
  }
  await channel.deleteQueue(queue)
  await channel.deleteQueue(results)
  const twice = back.filter((id) => done.has(id)).length
  const lost = count - new Set([...done, ...back]).size
  return { ms, code, done: done.size, back: back.length, twice, lost }
}

const outcomes = { lameduck: [], plain: [] }
for (let i = 0; i < rounds; i++)
  for (const mode of i % 2 === 0 ? ['lameduck', 'plain'] : ['plain', 'lameduck']) outcomes[mode].push(await round(mode))
await connection.close()

const sum = (list, key) => list.reduce((total, o) => total + o[key], 0)
console.log(`amqp: SIGTERM → exit, ${count} short deliveries in flight (20–200 ms each), ${rounds} round(s), medians`)
for (const [mode, label] of [
  ['lameduck', 'lameduck (createConsumers + closeAmqp)'],
  ['plain', "amqplib's connection.close()"],
]) {
  const list = outcomes[mode]
  const ms = median(list.map((o) => o.ms))
  console.log(
    `  ${label.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms   done ${sum(list, 'done')}, back in the queue ` +
      `${sum(list, 'back')}, processed twice ${sum(list, 'twice')}, lost ${sum(list, 'lost')}; exit codes ` +
      `${[...new Set(list.map((o) => o.code))].join(', ')}`,
  )
}
