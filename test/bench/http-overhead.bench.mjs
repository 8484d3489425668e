// Requests/s of an Express app with lameduck (middleware + drain tracking) against the same app without,
// alternating rounds in one run so that machine noise hits both alike.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { keepAliveLoad } from './lib.mjs'

const fixture = fileURLToPath(new URL('./fixtures/express-server.mjs', import.meta.url))
const rounds = Number(process.env.BENCH_ROUNDS ?? 16)
const roundMs = Number(process.env.BENCH_ROUND_MS ?? 2000)
const concurrency = 64

async function start(lameduck) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, LAMEDUCK: lameduck ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [chunk] = await once(child.stdout, 'data')
  return { child, port: Number(String(chunk).trim()) }
}

const load = (port, ms) => keepAliveLoad(port, ms, concurrency)

// This machine's noise is not only in time but between processes: two processes of the very same app differ
// by up to ~8 % in one run (where the scheduler puts them, what their JIT did), and the one measured first in
// a round can be favoured. So the comparison is spread over `pairs` fresh pairs of processes, and the order
// inside a round alternates (plain first, then lameduck first, …).
const pairs = Number(process.env.BENCH_PAIRS ?? 8)
const a = []
const b = []
for (let pair = 0; pair < pairs; pair++) {
  // Which of the two is spawned first alternates too: the second process of a pair starts on a busier machine.
  const first = await start(pair % 2 === 1)
  const second = await start(pair % 2 === 0)
  const [plain, withLameduck] = pair % 2 === 0 ? [first, second] : [second, first]
  await load(plain.port, 500) // warm both up
  await load(withLameduck.port, 500)
  for (let i = 0; i < rounds / pairs; i++) {
    if ((pair + i) % 2 === 0) {
      a.push(await load(plain.port, roundMs))
      b.push(await load(withLameduck.port, roundMs))
    } else {
      b.push(await load(withLameduck.port, roundMs))
      a.push(await load(plain.port, roundMs))
    }
  }
  plain.child.kill('SIGKILL')
  withLameduck.child.kill('SIGKILL')
}
const sum = (xs) => xs.reduce((x, y) => x + y, 0)
const ratio = sum(b) / sum(a)
console.log(
  `http: Express app, keep-alive load at concurrency ${concurrency}, ${rounds} alternating rounds of ${roundMs} ms over ${pairs} pairs of processes`,
)
console.log(`  without lameduck   ${Math.round(sum(a) / rounds)} req/s`)
console.log(`  with lameduck      ${Math.round(sum(b) / rounds)} req/s   (ratio ${(ratio * 100).toFixed(1)}%)`)
// The acceptance: at least 97 % of the same app without lameduck.
if (ratio < 0.97) {
  console.log(`  below the 97% acceptance bound`)
  process.exitCode = 1
}
