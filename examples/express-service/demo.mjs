// `pnpm demo`: this service, two replicas, rolling-terminated by the kubelet simulator through its preStop
// /shutdown hook under keep-alive load — then the shutdown's timeline, the result, and the verdict.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { formatResult, simulateTermination } from '@lameduck/testkit'
import { config } from './config.mjs'
import { openDemoStores } from './demo-stores.mjs'

const server = fileURLToPath(new URL('./server.mjs', import.meta.url))
const token = randomBytes(16).toString('hex')
const tty = process.stdout.isTTY
const bold = (s) => (tty ? `\x1b[1m${s}\x1b[22m` : s)

console.log(bold('lameduck demo'))
console.log(
  `Two replicas of examples/express-service behind a kube-proxy-like proxy, 64 keep-alive clients.\n` +
    `Replica A is terminated as the kubelet does it: preStop GET /shutdown (with its token), then SIGTERM,\n` +
    `SIGKILL after the grace period. Its endpoint is removed 1 s after termination starts.\n`,
)

// This run's own Redis keys and table, removed at the end; what killed earlier runs left is removed now.
const stores = await openDemoStores(config)
if (stores.swept.keys > 0 || stores.swept.tables.length > 0)
  console.log(
    `Removed what earlier demo runs left: ${stores.swept.keys} Redis key(s) under lameduck-demo:` +
      `${stores.swept.tables.length > 0 ? `, table(s) ${stores.swept.tables.join(', ')}` : ''}\n`,
  )

let lastLine = 0
const result = await simulateTermination({
  command: [process.execPath, server],
  env: { LAMEDUCK_SHUTDOWN_TOKEN: token, ...stores.env },
  preStop: '/shutdown',
  preStopHeaders: { authorization: `Bearer ${token}` },
  concurrency: 64,
  warmup: '2s',
  propagation: '1s',
  tail: '1s',
  grace: '35s', // as k8s/deployment.yaml: the adaptive drain delay's 15 s at most + the budgets + the margin
  onProgress: (p) => {
    const line = `  ${p.stage.padEnd(11)} ${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s   ${String(p.requests).padStart(6)} requests   ${p.failed} failed   ${Math.round(p.requestsPerSecond)} req/s`
    if (tty) process.stdout.write(`\r${line}   `)
    else if (p.elapsedMs - lastLine >= 1000) {
      lastLine = p.elapsedMs
      console.log(line)
    }
  },
}).catch(async (error) => {
  console.error(`\nThe demo could not run: ${error.message}${error.code ? ` [${error.code}]` : ''}`)
  for (const line of error.output ?? []) console.error(`  ${line}`)
  console.error('Did `pnpm install` finish (it builds the packages)?')
  await stores.close()
  process.exit(2)
})
if (tty) process.stdout.write('\r\x1b[K')

const store = result.lastOutput.find((line) => line.startsWith('stores:'))
console.log(store ? `replica A ${store}\n` : '')

let report
try {
  report = JSON.parse(result.preStop?.body ?? '')
} catch {
  report = undefined
}
if (report) {
  console.log(
    bold('Shutdown timeline of replica A') +
      ` (the /shutdown response, ${report.durationMs} ms, exit code ${report.exitCode})`,
  )
  console.log(timeline(report))
}
console.log(`\n${bold('Result')}`)
console.log(formatResult(result).split('\n\n  replica A, last output:')[0])
console.log(`\n${bold(`${result.failed} of ${result.requests} requests failed`)}`)
process.exitCode = result.passed ? 0 : 1

// Both replicas are gone: their locks' keys, fence counters and page-view rows were this run's alone.
const removed = await stores.close()
if (removed.keys > 0 || removed.tables.length > 0)
  console.log(
    `\nCleaned up: ${removed.keys} Redis key(s) under ${stores.env.KEY_PREFIX} (locks, fence counters)` +
      `${removed.tables.length > 0 ? ` and table ${removed.tables.join(', ')}` : ''}`,
  )

/** Why the drain delay ended, in words. */
function delayNote(delay) {
  if (!delay) return 'fixed'
  if (delay.endedBy !== 'quiet') return `ended: ${delay.endedBy}`
  if (delay.lastArrivalMs === undefined) return 'no new connection since the trigger'
  return `quiet ${delay.durationMs - delay.lastArrivalMs} ms after the last of ${delay.arrivals} new connection(s)`
}

/** Phases and tasks as bars on a shared time axis. */
function timeline(r) {
  const width = 50
  const total = Math.max(r.end - r.start, 1)
  const at = (t) => Math.min(width, Math.round(((t - r.start) / total) * width))
  const bar = (start, ms) => {
    // Every phase and task gets at least one cell, even a 0 ms one at the very end.
    const from = Math.min(at(start), width - 1)
    const to = Math.min(width, Math.max(from + 1, at(start + ms)))
    return `${' '.repeat(from)}${'█'.repeat(to - from)}`.padEnd(width)
  }
  const rows = []
  for (const phase of r.phases) {
    if (phase.tasks.length === 0 && phase.name !== 'readiness') continue
    rows.push([
      phase.name,
      bar(phase.start, phase.durationMs),
      `${phase.durationMs} ms${phase.name === 'readiness' ? ` (drain delay: serving, /readyz 503; ${delayNote(r.drainDelay)})` : ''}`,
    ])
    for (const task of phase.tasks)
      rows.push([`  ${task.name}`, bar(task.start, task.durationMs), `${task.durationMs} ms ${task.outcome}`])
  }
  const label = Math.max(...rows.map(([name]) => name.length))
  const axis = `${' '.repeat(label + 2)}|${'0 ms'.padEnd(width - `${total} ms`.length)}${total} ms|`
  return [...rows.map(([name, b, note]) => `  ${name.padEnd(label)} |${b}| ${note}`), axis].join('\n')
}
