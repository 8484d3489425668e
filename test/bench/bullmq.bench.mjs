// SIGTERM → exit of a BullMQ worker process with 1,000 short jobs in flight (concurrency 1,000, each job 100–600
// ms), two ways, in the same run: stopWorker (drain within a 10 s budget — every job finishes in it) and
// BullMQ's own `await worker.close()` then exit. Both wait for the same jobs: the difference is what lameduck
// costs — its coordinator, the hook every job runs through, its report. Each run checks that every job was
// completed (none returned, none failed). Needs the real Redis at REDIS_URL; every run has a queue of
// its own, obliterated afterwards.
//
//   pnpm build && node test/bench/bullmq.bench.mjs          (or: pnpm bench bullmq)
//   BENCH_BULLMQ_JOBS=100 BENCH_BULLMQ_RUNS=1 node test/bench/bullmq.bench.mjs    (a quick smoke run)
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Queue } from 'bullmq'
import { fmt, median } from './lib.mjs'

const jobs = Number(process.env.BENCH_BULLMQ_JOBS ?? 1_000)
const runs = Number(process.env.BENCH_BULLMQ_RUNS ?? 5)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const fixture = fileURLToPath(new URL('../../packages/bullmq/test/fixtures/worker.mjs', import.meta.url))
const url = new URL(REDIS_URL)
const connection = { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0) }
const prefix = `lameduck-bench-bullmq-${randomUUID().slice(0, 8)}`

async function once_(mode, run) {
  const queue = new Queue(`${mode}-${run}`, { connection, prefix })
  const child = spawn(process.execPath, [fixture], {
    env: {
      ...process.env,
      REDIS_URL,
      QUEUE: queue.name,
      PREFIX: prefix,
      MODE: mode,
      CONCURRENCY: String(jobs),
      READY_AT: String(jobs),
      GRACE_MS: '30000',
      TIMEOUT_MS: '10000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk
  })
  const ready = new Promise((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      if (out.includes('ready\n')) resolve()
    })
    child.once('exit', () => reject(new Error(`the ${mode} worker exited before it was ready: ${stderr}`)))
  })
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'short', data: { ms: 100 + ((i * 7) % 500) } })))
  await ready
  const exited = once(child, 'exit')
  const sentAt = performance.now()
  child.kill('SIGTERM')
  const [code] = await exited
  const ms = performance.now() - sentAt
  const counts = await queue.getJobCounts('completed', 'active', 'wait', 'failed')
  await queue.obliterate({ force: true })
  await queue.close()
  if (counts.completed !== jobs || counts.active + counts.wait + counts.failed !== 0)
    throw new Error(`${mode}: expected ${jobs} completed, got ${JSON.stringify(counts)}`)
  return { ms, code }
}

const results = { lameduck: [], close: [] }
for (let run = 0; run < runs; run++)
  for (const mode of ['lameduck', 'close']) results[mode].push(await once_(mode, run))

console.log(`\nBullMQ worker, ${jobs} short jobs (100–600 ms) in flight, SIGTERM → exit (median of ${runs}):`)
for (const [mode, label] of [
  ['lameduck', 'stopWorker (lameduck)'],
  ['close', 'worker.close() then exit'],
]) {
  const times = results[mode].map((r) => r.ms)
  const codes = [...new Set(results[mode].map((r) => r.code))].join(',')
  console.log(
    `  ${label.padEnd(26)} ${fmt(median(times)).padStart(11)}   (min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))}; exit code ${codes})`,
  )
}
console.log(`  every job completed, none returned or failed, in every run (${runs * 2 * jobs} jobs)`)
