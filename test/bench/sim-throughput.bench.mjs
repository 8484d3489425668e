// How much load lameduck-sim drives on this machine while the service runs beside it, against a
// baseline of the same keep-alive client pattern sent straight to one replica (no proxy), in one run.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { simulateTermination } from '@lameduck/testkit'
import { keepAliveLoad } from './lib.mjs'

const service = fileURLToPath(new URL('../../packages/testkit/test/fixtures/well-behaved.mjs', import.meta.url))
const seconds = Number(process.env.BENCH_SECONDS ?? 4)
const concurrency = 64
// The acceptance figure: below this, the simulator's own load is too thin to show a service's drops.
const minimumRps = 3000

async function baseline() {
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const child = spawn(process.execPath, [service], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 500))
  const rps = await keepAliveLoad(port, seconds * 1000, concurrency)
  child.kill('SIGKILL')
  await once(child, 'exit')
  return rps
}

const direct = await baseline()
const sim = await simulateTermination({
  command: [process.execPath, service],
  concurrency,
  warmup: `${seconds}s`,
  propagation: '500ms',
  env: { DRAIN_DELAY_MS: '700' },
})
console.log(`testkit: keep-alive load at concurrency ${concurrency}, ${seconds} s, 2 replicas beside the simulator`)
console.log(`  direct to one replica (no proxy)   ${Math.round(direct)} req/s`)
console.log(
  `  lameduck-sim through its proxy     ${sim.requestsPerSecond} req/s   (ratio ${(sim.requestsPerSecond / direct).toFixed(2)}, ${sim.failed} failed)`,
)
if (!(sim.requestsPerSecond >= minimumRps)) {
  console.error(
    `  FAIL: lameduck-sim drove ${sim.requestsPerSecond} req/s through its proxy, below the floor of ${minimumRps} req/s`,
  )
  process.exit(1)
}
console.log(`  ok: at or above the floor of ${minimumRps} req/s`)
