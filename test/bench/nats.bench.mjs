// NATS workers with 1,000 short messages in flight at SIGTERM (2 ms of work each, 16 at a time): the time from
// the signal to the exit, and what became of the messages — lameduck's consume() + drainNats() against the
// same worker stopping with the client's own drain() (nc.drain(), then exit), alternating rounds in one run so
// that machine noise hits both alike. JetStream (a durable pull consumer, ack_wait 60 s) and core NATS (a
// subscription). The worker is packages/nats/test/fixtures/worker.mjs, on the built packages and nats.js v3.
//
//   pnpm build && node test/bench/nats.bench.mjs            (or: pnpm bench nats)
//   BENCH_NATS_MESSAGES=100 BENCH_NATS_ROUNDS=1 node test/bench/nats.bench.mjs    (a quick smoke run)
//
// Needs the NATS server with JetStream of every machine (NATS_URL, default nats://127.0.0.1:4222); each round
// makes a stream of its own and deletes it.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { fmt, median } from './lib.mjs'

const require = createRequire(new URL('../../packages/nats/package.json', import.meta.url))
const { connect } = require('@nats-io/transport-node')
const { AckPolicy, jetstream, jetstreamManager } = require('@nats-io/jetstream')

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const count = Number(process.env.BENCH_NATS_MESSAGES ?? 1000)
const rounds = Number(process.env.BENCH_NATS_ROUNDS ?? 5)
const worker = fileURLToPath(new URL('../../packages/nats/test/fixtures/worker.mjs', import.meta.url))
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const nc = await connect({ servers: url })
const jsm = await jetstreamManager(nc)
const js = jetstream(nc)

/** Starts the worker, waits until it has processed `warm` messages, sends SIGTERM and times the exit. */
async function run(env, feed) {
  const child = spawn(process.execPath, [worker], {
    env: {
      ...process.env,
      NATS_URL: url,
      WORK_MS: '2',
      CONCURRENCY: '16',
      MAX_MESSAGES: String(count),
      TIMEOUT_MS: '10000',
      GRACE_MS: '30000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let done = 0
  let ready = false
  let partial = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line === 'ready') ready = true
      else if (line.startsWith('done ')) done++
    }
  })
  child.stderr.resume()
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  for (let i = 0; i < 1000 && !ready; i++) await pause(10)
  if (!ready) throw new Error('the worker did not start')
  await feed()
  for (let i = 0; i < 1000 && done < 10; i++) await pause(1)
  const sentAt = performance.now()
  const inFlight = count - done
  child.kill('SIGTERM')
  const code = await exited
  return { ms: performance.now() - sentAt, code, done, inFlight }
}

async function jetStreamRound(mode) {
  const id = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const name = `LAMEDUCK_BENCH_${id}`
  const subject = `lameduck.bench.${id}`
  await jsm.streams.add({ name, subjects: [subject] })
  try {
    await jsm.consumers.add(name, {
      durable_name: 'workers',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 60_000_000_000,
      max_ack_pending: 100_000,
    })
    for (let start = 0; start < count; start += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, count - start) }, (_, i) => js.publish(subject, String(start + i))),
      )
    const result = await run({ WORKER_MODE: mode, KIND: 'jetstream', STREAM: name, CONSUMER: 'workers' }, () => {})
    // Another replica reads for 1.5 s: what comes is what the worker gave back (or never took); the rest is
    // stranded until ack_wait.
    const messages = await (await js.consumers.get(name, 'workers')).consume({ max_messages: count })
    let rest = 0
    const timer = setTimeout(() => messages.stop(), 1500)
    for await (const msg of messages) {
      rest++
      msg.ack()
      if (result.done + rest >= count) break
    }
    clearTimeout(timer)
    return { ...result, stranded: count - result.done - rest }
  } finally {
    await jsm.streams.delete(name).catch(() => {})
  }
}

async function coreRound(mode) {
  const subject = `lameduck.bench.core.${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const result = await run({ WORKER_MODE: mode, KIND: 'core', SUBJECT: subject }, async () => {
    for (let i = 0; i < count; i++) nc.publish(subject, String(i))
    await nc.flush()
  })
  return { ...result, stranded: count - result.done }
}

const results = { jetstream: { lameduck: [], drain: [] }, core: { lameduck: [], drain: [] } }
for (let i = 0; i < rounds; i++)
  for (const mode of ['lameduck', 'drain']) {
    results.jetstream[mode].push(await jetStreamRound(mode))
    results.core[mode].push(await coreRound(mode))
  }
await nc.close()

console.log(
  `nats: SIGTERM → exit with ${count} short messages in flight (2 ms each, 16 at a time; ${rounds} rounds, medians)`,
)
const labels = { lameduck: 'lameduck consume() + drainNats()', drain: "the client's own nc.drain()" }
for (const kind of ['jetstream', 'core']) {
  console.log(`  ${kind === 'jetstream' ? 'JetStream pull consumer' : 'core subscription'}`)
  for (const mode of ['lameduck', 'drain']) {
    const rs = results[kind][mode]
    const codes = [...new Set(rs.map((r) => r.code))].join(',')
    const lost = kind === 'jetstream' ? 'left unacknowledged until ack_wait' : 'never handled (lost)'
    console.log(
      `    ${labels[mode].padEnd(34)} ${fmt(median(rs.map((r) => r.ms))).padStart(11)}   ` +
        `in flight ${median(rs.map((r) => r.inFlight))}, processed ${median(rs.map((r) => r.done))}, ` +
        `${median(rs.map((r) => r.stranded))} ${lost}; exit ${codes}`,
    )
  }
}
