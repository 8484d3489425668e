// Bounded memory of @lameduck/cache: 1,000,000 set()s of distinct keys against a sink 10× slower than the
// writers. The heap the cache holds (live heap after a full GC, sampled every 25,000 sets, minus the
// heap before the run) is compared with the configured bound, and with the unbounded cache (the old
// behaviour: maxEntries and maxBytes Infinity) run in the same process against the same sink.
// Fails (exit 1) if a bounded run's live heap goes over its bound, or an entry is not written. The shutdown
// flush gets 120 s (memory is measured here, not flush time: a loaded machine slows the calibrated sink).
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import v8 from 'node:v8'
import vm from 'node:vm'
import { CACHE_DEFAULTS, createWriteBehind, ENTRY_OVERHEAD_BYTES } from '@lameduck/cache'
import { createShutdown } from '@lameduck/core'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const N = Number(process.env.BENCH_SETS ?? 1_000_000)
const SAMPLE_EVERY = 25_000
const CHUNK = 1000
const MAX_BATCH = CACHE_DEFAULTS.maxBatch
const CONCURRENCY = CACHE_DEFAULTS.concurrency
const MB = 1024 * 1024
// A session-like object: the cache holds it for get() and its JSON (~50 characters) until written.
const TOKEN = 'x'.repeat(32)
const value = (i) => ({ user: i, token: TOKEN })
const live = () => {
  gc()
  return process.memoryUsage().heapUsed
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const fmtMB = (bytes) => `${(bytes / MB).toFixed(1)} MB`

/** A sink that takes `batchMs` per batch and remembers, in one bit per key, what it was given. */
function slowSink(batchMs) {
  const seen = new Uint8Array(N)
  let written = 0
  return {
    seen,
    written: () => written,
    async write(batch) {
      await sleep(batchMs)
      for (const { key } of batch) {
        const i = Number(key.slice(1))
        if (!seen[i]) {
          seen[i] = 1
          written++
        }
      }
    },
  }
}

const quiet = () => createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0, gracePeriodMs: 600_000 })

// Calibration: how fast the writers go with nothing in their way (set() into an unbounded cache, the
// same chunks and yields as below), so that the sink can be made 10× slower than that.
async function writerRate() {
  const n = 200_000
  const cache = createWriteBehind(quiet(), {
    sink: { write: async () => {} },
    flushIntervalMs: 0,
    maxEntries: Number.POSITIVE_INFINITY,
    maxBytes: Number.POSITIVE_INFINITY,
  })
  const t = performance.now()
  for (let i = 0; i < n; i += CHUNK) {
    for (let j = i; j < i + CHUNK; j++) cache.set(`k${j}`, value(j))
    await yieldToLoop()
  }
  const perSetMs = (performance.now() - t) / n
  cache.remove()
  return perSetMs
}

async function run(label, options, { wait }) {
  // The sink's own bookkeeping (a bit per key) is not the cache's: allocated before the baseline.
  const sink = slowSink(batchMs)
  const before = live()
  const shutdown = quiet()
  const cache = createWriteBehind(shutdown, { sink, flushIntervalMs: 10, timeoutMs: 120_000, ...options })
  let peak = 0
  let peakEntries = 0
  let peakEstimate = 0
  const started = performance.now()
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < i + CHUNK; j++) {
      if (wait) await cache.setOrWait(`k${j}`, value(j))
      else cache.set(`k${j}`, value(j))
    }
    if ((i + CHUNK) % SAMPLE_EVERY === 0) {
      const held = live() - before
      if (held > peak) {
        peak = held
        peakEstimate = cache.stats().bytes
      }
      peakEntries = Math.max(peakEntries, cache.size)
    }
    await yieldToLoop()
  }
  const writeMs = performance.now() - started
  let complete = true
  if (wait) {
    await shutdown.shutdown()
    complete = sink.written() === N
  }
  const stats = cache.stats()
  cache.remove()
  // Let the writes still in flight settle, so that the next run's baseline does not count this cache.
  await sleep(3 * batchMs)
  return { label, options, peak, peakEstimate, peakEntries, writeMs, complete, stats }
}

const perSetMs = await writerRate()
// Writers: 1 / perSetMs sets per ms. The sink, with CONCURRENCY batches of MAX_BATCH in flight, must take
// 10× longer per entry: batchMs = 10 × perSetMs × MAX_BATCH × CONCURRENCY.
const batchMs = Math.max(1, Math.round(10 * perSetMs * MAX_BATCH * CONCURRENCY))

const results = []
results.push(
  await run(
    'unbounded (old behaviour)',
    { maxEntries: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY },
    { wait: false },
  ),
)
results.push(await run('maxBytes 32 MiB', { maxEntries: Number.POSITIVE_INFINITY, maxBytes: 32 * MB }, { wait: true }))
results.push(await run('defaults (100,000 entries, 64 MiB)', {}, { wait: true }))
results.push(await run('defaults, retainClean: false', { retainClean: false }, { wait: true }))

const [unbounded] = results
console.log(
  `cache memory: ${N.toLocaleString('en')} set()s of distinct keys (objects of ~50 characters of JSON), sink 10× slower than the writers ` +
    `(writers ${Math.round(1 / perSetMs).toLocaleString('en')} sets/ms, sink batch ${batchMs} ms × ${CONCURRENCY} in flight)`,
)
console.log(
  `  live heap held, peak (after GC, sampled every ${SAMPLE_EVERY.toLocaleString('en')} sets) — estimate per entry: key + value + ${ENTRY_OVERHEAD_BYTES} B`,
)
let failed = false
for (const r of results) {
  const bound = Math.min(r.options.maxBytes ?? CACHE_DEFAULTS.maxBytes, Number.POSITIVE_INFINITY)
  const bounded = Number.isFinite(bound)
  const over = bounded && r.peak > bound
  if (over || !r.complete) failed = true
  console.log(
    `  ${r.label.padEnd(36)} ${fmtMB(r.peak).padStart(9)}  ${String(r.peakEntries.toLocaleString('en')).padStart(9)} entries` +
      (bounded ? `  ${((r.peak / bound) * 100).toFixed(0)}% of the bound (${fmtMB(bound)})` : '') +
      (r === unbounded ? '' : `  ${(r.peak / unbounded.peak).toFixed(3)}× the unbounded heap`) +
      `  (estimate ${fmtMB(r.peakEstimate)})  writers took ${(r.writeMs / 1000).toFixed(1)} s` +
      (r === unbounded ? ` (${(unbounded.peak / unbounded.peakEntries) | 0} B per entry)` : '') +
      (r.stats.evicted ? `, ${r.stats.evicted.toLocaleString('en')} written entries let go` : '') +
      (r === unbounded ? '' : r.complete ? ', every entry written' : ', ENTRIES MISSING') +
      (over ? '  OVER THE BOUND' : ''),
  )
}
process.exit(failed ? 1 : 0)
