// What flushPino adds to a shutdown whose coordinator logs through a pino.transport (pino/file): 10,000 lines
// logged just before shutdown(), the run timed to the hand-over to the exit (exit: false: the exit flushes run
// before shutdown() resolves). Against, in the same process and alternating: the same shutdown without
// flushPino — faster, but then pino's exit hook (flushSync + end, timed here as pino calls it) writes the
// backlog synchronously inside process.exit, outside every budget — and flushPino with nothing buffered (what
// the mechanism costs by itself). Medians of BENCH_ROUNDS rounds; BENCH_LINES lines (default 10,000).
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createShutdown } from '@lameduck/core'
import { flushPino } from '@lameduck/pino'
import { fmt, median } from './lib.mjs'

// pino is a dependency of packages/pino, not of the workspace root.
const pino = createRequire(new URL('../../packages/pino/package.json', import.meta.url))('pino')

const LINES = Number(process.env.BENCH_LINES ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const dir = mkdtempSync(join(tmpdir(), 'lameduck-bench-pino-'))
const padding = 'x'.repeat(120)
let files = 0

/** One round: a fresh transport and file; `lines` logged, then shutdown() timed, then pino's exit hook. */
async function round({ flush, lines }) {
  const path = join(dir, `r${++files}.log`)
  const transport = pino.transport({ target: 'pino/file', options: { destination: path } })
  await once(transport, 'ready')
  const logger = pino(transport)
  const shutdown = createShutdown({ logger, exit: false, signals: [], drainDelayMs: 0, terminationLog: false })
  const registration = flush ? flushPino(shutdown, logger) : undefined
  for (let i = 0; i < lines; i++) logger.info({ i, padding }, 'a line logged before the shutdown')
  const start = performance.now()
  await shutdown.shutdown()
  const shutdownMs = performance.now() - start
  const atHandOver = readFileSync(path, 'utf8').split('\n').length - 1
  // What pino's exit hook does in process.exit (lib/transport.js autoEnd): a no-op once flushPino closed it.
  const hookStart = performance.now()
  if (!transport.closed && !transport.destroyed) {
    transport.flushSync()
    transport.end()
  }
  const exitHookMs = performance.now() - hookStart
  if (!transport.closed) await once(transport, 'close')
  const total = readFileSync(path, 'utf8').split('\n').length - 1
  if (flush && registration.result?.outcome !== 'closed') throw new Error(`flush: ${registration.result?.outcome}`)
  return { shutdownMs, exitHookMs, atHandOver, total }
}

// The transports' workers are unref'd: without this the loop could empty while a round waits for one.
const alive = setInterval(() => {}, 1000)
const runs = { without: [], with: [], empty: [] }
for (let r = 0; r < ROUNDS; r++) {
  runs.without.push(await round({ flush: false, lines: LINES }))
  runs.with.push(await round({ flush: true, lines: LINES }))
  runs.empty.push(await round({ flush: true, lines: 0 }))
}
clearInterval(alive)
rmSync(dir, { recursive: true, force: true })

const m = (list, key) => median(list.map((x) => x[key]))
const without = { shutdown: m(runs.without, 'shutdownMs'), hook: m(runs.without, 'exitHookMs') }
const withFlush = { shutdown: m(runs.with, 'shutdownMs'), hook: m(runs.with, 'exitHookMs') }
const empty = m(runs.empty, 'shutdownMs')
const lines = (list) =>
  `${Math.round(m(list, 'atHandOver')).toLocaleString('en')} of ${Math.round(m(list, 'total')).toLocaleString('en')}`
console.log(
  `pino: a shutdown logging through pino.transport (pino/file) with ${LINES.toLocaleString('en')} lines buffered, medians of ${ROUNDS} alternating rounds`,
)
console.log(
  `  without flushPino        shutdown ${fmt(without.shutdown)}, then pino's exit hook ${fmt(without.hook)} inside process.exit; lines in the file at the hand-over: ${lines(runs.without)}`,
)
console.log(
  `  with flushPino           shutdown ${fmt(withFlush.shutdown)}, exit hook ${fmt(withFlush.hook)}; lines in the file at the hand-over: ${lines(runs.with)}`,
)
console.log(`  flushPino, 0 lines       shutdown ${fmt(empty)} (closing the transport: its worker ends the file)`)
console.log(
  `  the flush adds ${fmt(withFlush.shutdown - without.shutdown)} to the shutdown (×${(withFlush.shutdown / without.shutdown).toFixed(2)}), inside the budget; ` +
    `against the time it moves out of process.exit: ${fmt(without.shutdown + without.hook)} without, ${fmt(withFlush.shutdown + withFlush.hook)} with (×${((withFlush.shutdown + withFlush.hook) / (without.shutdown + without.hook)).toFixed(2)})`,
)
