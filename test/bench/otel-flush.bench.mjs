// What @lameduck/otel adds to a shutdown: the same coordinator and tasks, run with and without
// instrumentShutdown, in this process, alternating. The instrumented one has BENCH_SPANS (1,000) application
// spans buffered in the SDK's BatchSpanProcessor before the trigger — what a busy service holds when SIGTERM
// comes — so its flush exports them and the run's own spans, over OTLP/HTTP JSON, to a receiver in a child
// process on loopback (its JSON parsing is not on this process's clock), and shuts the SDK down. Printed: the
// median of each, the time added in ms and the ratio.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { createShutdown } from '@lameduck/core'
import { instrumentShutdown } from '@lameduck/otel'
import { fmt, median } from './lib.mjs'

const SPANS = Number(process.env.BENCH_SPANS ?? 1_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)

// The SDK is a dependency of packages/otel only (the library itself needs just the API): load it from there.
const fromOtel = createRequire(new URL('../../packages/otel/package.json', import.meta.url))
const load = (name) => import(pathToFileURL(fromOtel.resolve(name)).href)
const { BatchSpanProcessor, TracerProvider } = await load('@opentelemetry/sdk-trace')
const { OTLPTraceExporter } = await load('@opentelemetry/exporter-trace-otlp-http')

// The collector: a child process answering 200 to every POST once it has read the body.
const receiver = spawn(
  process.execPath,
  [
    '-e',
    `const s = require('node:http').createServer((q, r) => q.resume().on('end', () => r.end('{}')))
     s.listen(0, '127.0.0.1', () => console.log(s.address().port))`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
const [portLine] = await once(receiver.stdout.setEncoding('utf8'), 'data')
const url = `http://127.0.0.1:${Number(portLine)}/v1/traces`

/** A coordinator with a task in each phase, as a small service has. */
function service() {
  const shutdown = createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0, gracePeriodMs: 30_000 })
  for (const phase of ['drain', 'flush', 'release', 'close', 'report'])
    shutdown.addTask({ name: `${phase}-task`, phase, timeoutMs: 1_000, run: () => {} })
  return shutdown
}

async function baseline() {
  const shutdown = service()
  const t = performance.now()
  await shutdown.shutdown('bench')
  return performance.now() - t
}

async function instrumented() {
  const shutdown = service()
  const tracerProvider = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url }),
        maxQueueSize: SPANS + 1_000,
        // Nothing exported before the trigger: the flush does it all.
        scheduledDelayMillis: 600_000,
      }),
    ],
  })
  instrumentShutdown(shutdown, { tracerProvider, timeoutMs: 20_000 })
  const tracer = tracerProvider.getTracer('app')
  for (let i = 0; i < SPANS; i++)
    tracer.startSpan('GET /checkout', { attributes: { 'http.route': '/checkout', i } }).end()
  const t = performance.now()
  const report = await shutdown.shutdown('bench')
  const ms = performance.now() - t
  const flush = report.phases.flatMap((p) => p.tasks).find((task) => task.name === 'otel-flush')
  if (flush?.outcome !== 'ok') throw new Error(`the flush did not succeed: ${JSON.stringify(flush)}`)
  return { ms, flushMs: flush.durationMs }
}

// One round of each to warm up (module loading, the first connection), not counted.
await baseline()
await instrumented()
const base = []
const withOtel = []
const flushes = []
for (let round = 0; round < ROUNDS; round++) {
  base.push(await baseline())
  const { ms, flushMs } = await instrumented()
  withOtel.push(ms)
  flushes.push(flushMs)
}
receiver.kill()

const b = median(base)
const o = median(withOtel)
console.log(`otel flush: ${SPANS.toLocaleString('en')} buffered spans, ${ROUNDS} rounds (medians)`)
console.log(`  shutdown without otel   ${fmt(b)}`)
console.log(`  shutdown with otel      ${fmt(o)}   (the flush task itself: ${fmt(median(flushes))})`)
console.log(`  added by otel           ${fmt(o - b)}   ratio ${(o / b).toFixed(1)}x`)
