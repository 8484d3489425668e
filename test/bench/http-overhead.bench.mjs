// Requests/s of an Express app with lameduck (middleware + drain tracking) against the same app without,
// alternating rounds in one run so that machine noise hits both alike.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/express-server.mjs', import.meta.url))
const rounds = Number(process.env.BENCH_ROUNDS ?? 8)
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

async function load(port, ms) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  let done = 0
  let stop = false
  const one = () =>
    new Promise((resolve) => {
      const req = request({ agent, host: '127.0.0.1', port, path: '/' }, (res) => {
        res.resume()
        res.once('end', resolve)
      })
      req.once('error', resolve)
      req.end()
    })
  const started = performance.now()
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stop) {
      await one()
      done++
    }
  })
  await new Promise((resolve) => setTimeout(resolve, ms))
  stop = true
  await Promise.all(workers)
  agent.destroy()
  return (done * 1000) / (performance.now() - started)
}

const plain = await start(false)
const withLameduck = await start(true)
await load(plain.port, 500) // warm both up
await load(withLameduck.port, 500)
const a = []
const b = []
for (let i = 0; i < rounds; i++) {
  a.push(await load(plain.port, roundMs))
  b.push(await load(withLameduck.port, roundMs))
}
plain.child.kill('SIGKILL')
withLameduck.child.kill('SIGKILL')
const sum = (xs) => xs.reduce((x, y) => x + y, 0)
const ratio = sum(b) / sum(a)
console.log(
  `http: Express app, keep-alive load at concurrency ${concurrency}, ${rounds} alternating rounds of ${roundMs} ms`,
)
console.log(`  without lameduck   ${Math.round(sum(a) / rounds)} req/s`)
console.log(`  with lameduck      ${Math.round(sum(b) / rounds)} req/s   (ratio ${(ratio * 100).toFixed(1)}%)`)
