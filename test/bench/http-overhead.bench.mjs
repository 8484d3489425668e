// Requests/s of an Express app with lameduck — the middleware, or withLameduck() in front of the router, each
// with drain tracking — against the same app without, rotating rounds in one run so that noise hits all alike.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { Agent } from 'node:http'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { keepAliveLoad } from './lib.mjs'

const fixture = fileURLToPath(new URL('./fixtures/express-server.mjs', import.meta.url))
// Short slices, alternating: this machine's throughput swings by 2× from one second to the next (other
// tenants), so the two apps are compared slice against neighbouring slice, never minute against minute.
const rounds = Number(process.env.BENCH_ROUNDS ?? 128)
const roundMs = Number(process.env.BENCH_ROUND_MS ?? 250)
const concurrency = 64

// Where the scheduler puts the processes is most of this machine's noise between two processes of one app.
// With taskset, the load generator (this process) runs on CPU 0 and every server on CPU 1: the one under
// load has a core of its own, the same one each round.
const pin = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && hasTaskset()
if (pin) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' })

function hasTaskset() {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
}

// BENCH_AA=1: every process without lameduck — the bench's own bias and noise.
const ARMS = [
  { name: 'without lameduck', mode: '0' },
  { name: 'lameduck() middleware', mode: '1' },
  { name: 'withLameduck() in front', mode: 'server' },
]

async function start(mode) {
  const [command, ...args] = pin ? ['taskset', '-c', '1', process.execPath, fixture] : [process.execPath, fixture]
  const child = spawn(command, args, {
    env: { ...process.env, LAMEDUCK: process.env.BENCH_AA === '1' ? '0' : mode },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [chunk] = await once(child.stdout, 'data')
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  return { child, port: Number(String(chunk).trim()), agent }
}

// One agent per process for the whole set: its connections are opened once (at the warm-up) and reused by
// every slice, so what is measured is requests, not connection set-up.
const load = (proc, ms) => keepAliveLoad(proc.port, ms, concurrency, proc.agent)

// Spread over `pairs` fresh sets of processes (two processes of the very same app differ by several % in one
// run), spawned and measured in an order that rotates, in short slices (see above).
const pairs = Number(process.env.BENCH_PAIRS ?? 8)
const totals = ARMS.map(() => 0)
for (let pair = 0; pair < pairs; pair++) {
  const order = ARMS.map((_, i) => (i + pair) % ARMS.length)
  const procs = []
  for (const i of order) procs[i] = await start(ARMS[i].mode)
  for (const i of order) await load(procs[i], 500) // warm up
  for (let r = 0; r < rounds / pairs; r++)
    for (let k = 0; k < ARMS.length; k++) {
      const i = (k + r + pair) % ARMS.length
      totals[i] += await load(procs[i], roundMs)
    }
  for (const proc of procs) {
    proc.agent.destroy()
    proc.child.kill('SIGKILL')
  }
}
console.log(
  `http: Express app, keep-alive load at concurrency ${concurrency}, ${rounds} rotating rounds of ${roundMs} ms over ${pairs} sets of processes${pin ? ' (load on CPU 0, servers on CPU 1)' : ''}`,
)
const ratio = (i) => totals[i] / totals[0]
for (const [i, arm] of ARMS.entries())
  console.log(
    `  ${arm.name.padEnd(26)} ${Math.round(totals[i] / rounds)} req/s${i > 0 ? `   (ratio ${(ratio(i) * 100).toFixed(1)}%)` : ''}`,
  )
// The acceptance: at least 97 % of the same app without lameduck, with the probes in front of the router
// (the middleware costs one Express layer more, reported beside it).
if (ratio(2) < 0.97) {
  console.log('  withLameduck() below the 97% acceptance bound')
  process.exitCode = 1
}
