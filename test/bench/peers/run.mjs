// lameduck against other Node shutdown libraries: the same Express app (test/bench/peers/apps/*.mjs),
// wired to each library as its README recommends, terminated by lameduck-sim with SIGTERM only, in four
// scenarios. Prints the table and writes it into docs/benchmarks.md between
// <!-- peers:start --> and <!-- peers:end -->.
//
//   pnpm bench:peers                     3 runs per library and scenario
//   BENCH_RUNS=1 pnpm bench:peers        quicker
//   BENCH_ONLY=lameduck,bare node test/bench/peers/run.mjs   some libraries only (docs are then not written)
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { simulateTermination } from '@lameduck/testkit'
import { median } from '../lib.mjs'
import { lightshipEntry } from './lightship-build.mjs'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const docsPath = `${root}docs/benchmarks.md`
const runs = Number(process.env.BENCH_RUNS ?? 3)
const DRAIN_DELAY_MS = 1500
const GRACE = '10s'
const GRACE_MS = 10_000
const WARMUP = '500ms'
const TOKEN = 'bench-token-0123456789abcdef'
const START = '<!-- peers:start -->'
const END = '<!-- peers:end -->'
const HEADING = '## Against other libraries (pnpm bench:peers)'

/** Wraps markdown text at 110 columns (code spans unbroken), continuation lines indented by `indent`. */
function wrap(text, indent = '') {
  const lines = []
  let current = ''
  // Code spans are kept on one line.
  const words = text.replace(/`[^`]*`/g, (span) => span.replaceAll(' ', '\u0000')).split(' ')
  for (const word of words.map((w) => w.replaceAll('\u0000', ' '))) {
    if (current && current.length + 1 + word.length > 110) {
      lines.push(current)
      current = indent + word
    } else current = current ? `${current} ${word}` : word
  }
  if (current) lines.push(current)
  return lines.join('\n')
}

const app = (name) => fileURLToPath(new URL(`./apps/${name}.mjs`, import.meta.url))
const version = (pkg) => JSON.parse(readFileSync(`${root}node_modules/${pkg}/package.json`, 'utf8')).version

/** Each library: its app, the package whose version is reported, and how it was configured. */
const libraries = [
  {
    name: 'bare server.close()',
    file: 'bare',
    pkg: null,
    how: 'no library: on SIGTERM `server.close()` at once (no drain delay, no timeout), then flush and release in its callback; the process ends when its event loop is empty.',
  },
  {
    name: '@godaddy/terminus',
    file: 'terminus',
    pkg: '@godaddy/terminus',
    how: '`createTerminus` with a `/healthcheck`, `beforeShutdown` waiting 1500 ms, `useExit0: true` (both as its Kubernetes section recommends), `timeout: 4000` for in-flight requests, and `onSignal` awaiting the flush then the release.',
  },
  {
    name: 'lightship',
    file: 'lightship',
    pkg: 'lightship',
    how: '`createLightship({ detectKubernetes: false, shutdownDelay: 1500, shutdownHandlerTimeout: 7500, gracefulShutdownTimeout: 7500 })` with probes on their own port, `signalReady()` on listen, and three shutdown handlers run in order: `server.close()` (not awaited, as in its README), the flush, the release.',
  },
  {
    name: 'http-terminator',
    file: 'http-terminator',
    pkg: 'http-terminator',
    how: 'our own SIGTERM handler: wait 1500 ms, `await httpTerminator.terminate()` (`gracefulTerminationTimeout: 4000`), then the flush and the release; no `process.exit()`, as the library leaves the process alone.',
  },
  {
    name: 'close-with-grace',
    file: 'close-with-grace',
    pkg: 'close-with-grace',
    how: '`closeWithGrace({ delay: 9000 }, fn)` (its `delay` is the time before it forces `process.exit(1)`), `fn` waiting 1500 ms, awaiting `server.close()`, then the flush and the release.',
  },
  {
    name: 'http-graceful-shutdown',
    file: 'http-graceful-shutdown',
    pkg: 'http-graceful-shutdown',
    how: '`gracefulShutdown(server, { preShutdown: 1500 ms wait, timeout: 4000, onShutdown: flush, finally: release })`, `forceExit` left at its default (true).',
  },
  {
    name: 'lameduck',
    file: 'lameduck',
    pkg: '@lameduck/core',
    how: '`createShutdown({ drainDelayMs: 1500, gracePeriodMs: 10000 })`, `app.use(lameduck(shutdown))` first, `drainHttpServer(shutdown, server, { timeoutMs: 4000 })` before listen (its default, 10 s, would not fit the grace period), the flush as a `flush`-phase task (`timeoutMs: 2000`) and the release as a `release`-phase task (`timeoutMs: 1000`).',
  },
]

const scenarios = [
  { name: 'steady, c64', short: 'steady', options: { concurrency: 64 } },
  { name: 'bursty, c256 think 20ms', short: 'bursty', options: { concurrency: 256, think: '20ms' } },
  { name: 'c64 + 2 requests of 12 s', short: '12 s requests', options: { concurrency: 64, long: '12s', longCount: 2 } },
  { name: 'c64, flush hangs', short: 'flush hangs', options: { concurrency: 64 }, env: { HANG_FLUSH: '1' } },
]

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const selected = only ? libraries.filter((l) => only.some((o) => l.file.includes(o) || l.name.includes(o))) : libraries
const onlyScenarios = process.env.BENCH_SCENARIOS?.split(',').map(Number)
const selectedScenarios = onlyScenarios ? scenarios.filter((_, i) => onlyScenarios.includes(i + 1)) : scenarios

const lightshipModule = await lightshipEntry()
const cpus = os.cpus()
const machine = `Node ${process.version}, ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${os.platform()} ${os.release()}`
console.log(`peers: ${runs} run(s) per library and scenario; ${machine}`)
console.log(`drain delay ${DRAIN_DELAY_MS} ms, grace ${GRACE}, propagation 1 s, SIGTERM only`)
if (lightshipModule)
  console.log(`lightship: installed package has no dist/, using transpiled src at ${lightshipModule}`)

/** results[lib][scenario] = array of per-run outcomes */
const results = new Map()
const started = performance.now()
for (const scenario of selectedScenarios) {
  for (let i = 0; i < runs; i++) {
    // Libraries interleaved within a round, so that machine noise hits them all alike.
    for (const lib of selected) {
      const key = `${lib.name}\u0000${scenario.name}`
      if (!results.has(key)) results.set(key, [])
      let outcome
      try {
        const r = await simulateTermination({
          command: [process.execPath, app(lib.file)],
          env: {
            LAMEDUCK_SHUTDOWN_TOKEN: TOKEN,
            DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
            GRACE_MS: String(GRACE_MS),
            ...(lightshipModule ? { LIGHTSHIP_MODULE: lightshipModule } : {}),
            ...scenario.env,
          },
          grace: GRACE,
          propagation: '1s',
          warmup: WARMUP, // the simulator's default is 1 s; 0.5 s keeps the whole bench under ~8 minutes
          ...scenario.options,
        })
        const out = r.lastOutput
        outcome = {
          failed: r.failed,
          failures: r.failures,
          longOk: r.long.ok,
          longTotal: r.long.total,
          exitMs: r.terminationToExitMs,
          sigkill: r.sigkill,
          exit: r.exitSignal ?? r.exitCode,
          cleanup: out.some((l) => l.includes('cleanup: flush started')),
          release: out.some((l) => l.includes('cleanup: release ran')),
          rate: r.requestsPerSecond,
        }
      } catch (error) {
        outcome = { error: `${error.code ?? error.name}: ${error.message}`, output: error.output }
      }
      results.get(key).push(outcome)
      const tag = `${lib.name} | ${scenario.name} | run ${i + 1}/${runs}`
      if (outcome.error) {
        console.log(`  ${tag}: ERROR ${outcome.error}`)
        for (const l of outcome.output ?? []) console.log(`    | ${l}`)
      } else
        console.log(
          `  ${tag}: failed ${outcome.failed}${outcome.failed ? ` ${JSON.stringify(outcome.failures)}` : ''}, ` +
            `exit +${outcome.exitMs} ms (${outcome.exit}), sigkill ${outcome.sigkill ? 'yes' : 'no'}, ` +
            `cleanup ${outcome.cleanup ? 'ran' : 'no'}, release ${outcome.release ? 'ran' : 'no'}` +
            `${outcome.longTotal ? `, long ${outcome.longOk}/${outcome.longTotal}` : ''}, ${outcome.rate} req/s`,
        )
    }
  }
}
const elapsed = Math.round((performance.now() - started) / 1000)

// The table.
const header = [
  'library',
  'scenario',
  'failed requests',
  'long requests completed',
  'time to exit (median)',
  'SIGKILL needed',
  'cleanup ran',
  'release ran',
  'exit code (per run)',
]
const rows = []
const kinds = []
for (const lib of selected) {
  const perScenario = []
  for (const scenario of selectedScenarios) {
    const list = results.get(`${lib.name}\u0000${scenario.name}`) ?? []
    const ok = list.filter((o) => !o.error)
    const errors = list.length - ok.length
    const n = list.length
    const sum = (f) => ok.reduce((s, o) => s + f(o), 0)
    const count = (f) => ok.filter(f).length
    const longTotal = sum((o) => o.longTotal)
    rows.push([
      lib.name,
      scenario.name,
      String(sum((o) => o.failed)) + (errors ? ` (+${errors} run(s) errored)` : ''),
      longTotal ? `${sum((o) => o.longOk)} of ${longTotal}` : '—',
      ok.length ? `${Math.round(median(ok.map((o) => o.exitMs)))} ms` : '—',
      `${count((o) => o.sigkill)} of ${n}`,
      `${count((o) => o.cleanup)} of ${n}`,
      `${count((o) => o.release)} of ${n}`,
      list.map((o) => (o.error ? 'error' : o.exit === null ? '?' : String(o.exit))).join(', '),
    ])
    const merged = {}
    for (const o of ok) for (const [k, v] of Object.entries(o.failures)) merged[k] = (merged[k] ?? 0) + v
    if (Object.keys(merged).length)
      perScenario.push(
        `${scenario.short} ${Object.entries(merged)
          .map(([k, v]) => `${v} ${k}`)
          .join(' + ')}`,
      )
  }
  if (perScenario.length) kinds.push(`${lib.name}: ${perScenario.join('; ')}`)
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
const table = [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n')

console.log()
console.log(table)
if (kinds.length) {
  console.log('\nfailed requests by kind (summed over runs):')
  for (const k of kinds) console.log(`  ${k}`)
}
console.log(`\n${selected.length * selectedScenarios.length * runs} terminations in ${elapsed} s`)

if (selected.length !== libraries.length || selectedScenarios.length !== scenarios.length) {
  console.log('(BENCH_ONLY / BENCH_SCENARIOS set: docs/benchmarks.md left as it is)')
} else {
  const versions = libraries
    .filter((l) => l.pkg)
    .map((l) => `${l.pkg} ${version(l.pkg)}`)
    .concat(`express ${version('express')}`)
    .join(', ')
  const paragraphs = [
    `Measured on: ${machine}. Versions: ${versions}.`,
    `The same Express app (\`test/bench/peers/apps/\`) wired to each library, run through \`lameduck-sim\` (two ` +
      'replicas behind the kube-proxy-like proxy), SIGTERM only (no preStop: the other libraries have no preStop ' +
      `endpoint), 0.5 s of load before termination, endpoint propagation 1 s, grace 10 s, drain delay ${DRAIN_DELAY_MS} ms ` +
      `wherever the library can express one, ${runs} run(s) per library and scenario, libraries interleaved within ` +
      'each round. Cleanup is a flush to a store (20 ms, or a promise that never settles in the "flush hangs" ' +
      'scenario) followed by a lock release; "cleanup ran" and "release ran" count the runs in which each step ' +
      'started. Budgets where a library takes them: 4000 ms for in-flight requests once the server stops, 2000 ms ' +
      'for the flush, 1000 ms for the release, 1000 ms kept before SIGKILL.',
  ]
  const notes = [
    ...(lightshipModule
      ? [
          'lightship 7.3.0 as published on npm contains only `src/*.ts` (its `exports` point at a `dist/` that is ' +
            'not in the tarball), so `import "lightship"` fails; the bench transpiles that `src/` unchanged with ' +
            'TypeScript (`test/bench/peers/lightship-build.mjs`).',
        ]
      : []),
    'A request of 12 s cannot complete within a 10 s grace period; that scenario shows whether the process still ' +
      'exits by itself before SIGKILL and whether its cleanup runs. Exit codes are those of replica A; a run ended ' +
      `by SIGKILL shows SIGKILL. ${selected.length * selectedScenarios.length * runs} terminations, ${elapsed} s.`,
  ]
  const section = [
    START,
    '',
    ...paragraphs.flatMap((p) => [wrap(p), '']),
    ...libraries.map((l) => wrap(`- **${l.name}**: ${l.how}`, '  ')),
    '',
    table,
    '',
    ...(kinds.length
      ? ['Failed requests by kind, summed over runs:', '', ...kinds.map((k) => wrap(`- ${k}`, '  ')), '']
      : []),
    ...notes.flatMap((p) => [wrap(p), '']),
    END,
  ].join('\n')
  let doc = readFileSync(docsPath, 'utf8')
  const a = doc.indexOf(START)
  const b = doc.indexOf(END)
  if (a !== -1 && b > a) doc = doc.slice(0, a) + section + doc.slice(b + END.length)
  else doc = `${doc.replace(/\n*$/, '\n')}\n${HEADING}\n\n${section}\n`
  writeFileSync(docsPath, doc)
  console.log(`written to ${docsPath}`)
}
