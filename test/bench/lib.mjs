import { spawn } from 'node:child_process'
import { once } from 'node:events'

/** Spawns a fixture, waits for "ready", sends `signal`, returns ms from the signal to the exit. */
export async function timeSignalToExit(file, { signal = 'SIGTERM', cwd } = {}) {
  const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('ready\n')) resolve()
    })
    child.once('exit', () => reject(new Error(`${file} exited before it was ready`)))
  })
  const exited = once(child, 'exit')
  const sentAt = performance.now()
  child.kill(signal)
  const [code] = await exited
  return { ms: performance.now() - sentAt, code }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const fmt = (ms) => `${ms.toFixed(2)} ms`

/**
 * Keep-alive GET / load at `concurrency` for `ms`; resolves to requests per second. With `agent` given, its
 * connections are reused (and left open) — for slices of load that must not each pay for new connections.
 */
export async function keepAliveLoad(port, ms, concurrency = 64, given = undefined) {
  const { Agent, request } = await import('node:http')
  const agent = given ?? new Agent({ keepAlive: true, maxSockets: concurrency })
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
  if (!given) agent.destroy()
  return (done * 1000) / (performance.now() - started)
}
