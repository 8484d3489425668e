// The overhead benchmark's engine, shared by the Express and Fastify benches: the same app in several arms
// (without lameduck, and with it wired in one way or another), measured in rotating slices in one run.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism } from 'node:os'
import { rawLoadClient } from './lib.mjs'

// Where the scheduler puts the processes is most of this machine's noise between two processes of one app.
// With taskset, the load generator (this process) runs on CPU 0 and every server on CPU 1: the one under
// load has a core of its own, the same one each slice.
function hasTaskset() {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * Spawns `fixture` once per arm (env `LAMEDUCK` = the arm's `mode`; `BENCH_AA=1` gives every arm mode '0',
 * to see the bench's own bias), over `sets` fresh sets of processes (two processes of the very same app
 * differ by a few % in one run), and loads them in short rotating slices: this machine's throughput swings
 * by 2× from one second to the next (other tenants), so arms are compared slice against neighbouring slice.
 * Two figures per arm, each as a ratio to the first arm: requests/s under the same saturating load, and
 * the server's CPU time per request (read from the fixture over IPC: `process.cpuUsage()` on any message) —
 * the inverse of what the server could serve on a core of its own, less sensitive to the neighbours.
 */
export async function measureOverhead({ title, fixture, arms, concurrency = 64 }) {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 128)
  const roundMs = Number(process.env.BENCH_ROUND_MS ?? 250)
  const sets = Number(process.env.BENCH_PAIRS ?? 8)
  const pin = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && hasTaskset()
  if (pin) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' })

  const start = async (mode) => {
    const [command, ...args] = pin ? ['taskset', '-c', '1', process.execPath, fixture] : [process.execPath, fixture]
    const child = spawn(command, args, {
      env: { ...process.env, LAMEDUCK: process.env.BENCH_AA === '1' ? '0' : mode },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    })
    const [chunk] = await once(child.stdout, 'data')
    const port = Number(String(chunk).trim())
    return { child, client: await rawLoadClient(port, concurrency) }
  }
  const cpu = async (proc) => {
    proc.child.send('cpu')
    const [micros] = await once(proc.child, 'message')
    return micros
  }

  const rate = arms.map(() => 0)
  const cpuMicros = arms.map(() => 0)
  const served = arms.map(() => 0)
  for (let set = 0; set < sets; set++) {
    const order = arms.map((_, i) => (i + set) % arms.length)
    const procs = []
    for (const i of order) procs[i] = await start(arms[i].mode)
    for (const i of order) await procs[i].client.run(500) // warm up
    for (let r = 0; r < rounds / sets; r++)
      for (let k = 0; k < arms.length; k++) {
        const i = (k + r + set) % arms.length
        const before = await cpu(procs[i])
        const started = performance.now()
        const perSecond = await procs[i].client.run(roundMs)
        const elapsed = performance.now() - started
        cpuMicros[i] += (await cpu(procs[i])) - before
        rate[i] += perSecond
        served[i] += (perSecond * elapsed) / 1000
      }
    for (const proc of procs) {
      proc.client.close()
      proc.child.kill('SIGKILL')
    }
  }
  console.log(
    `${title}: saturating keep-alive load at concurrency ${concurrency}, ${rounds} rotating rounds of ${roundMs} ms over ${sets} sets of processes${pin ? ' (load on CPU 0, servers on CPU 1)' : ''}${process.env.BENCH_AA === '1' ? ' — A/A: every arm without lameduck' : ''}`,
  )
  const perRequest = arms.map((_, i) => cpuMicros[i] / served[i])
  const results = arms.map((arm, i) => ({
    name: arm.name,
    rps: rate[i] / rounds,
    rpsRatio: rate[i] / rate[0],
    cpuPerRequestUs: perRequest[i],
    cpuRatio: perRequest[0] / perRequest[i],
  }))
  for (const [i, r] of results.entries())
    console.log(
      `  ${r.name.padEnd(28)} ${Math.round(r.rps)} req/s${i > 0 ? ` (${(r.rpsRatio * 100).toFixed(1)}%)` : '        '}   ` +
        `server CPU ${r.cpuPerRequestUs.toFixed(1)} µs/request${i > 0 ? ` (capacity ${(r.cpuRatio * 100).toFixed(1)}%)` : ''}`,
    )
  return results
}
