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

/**
 * A load generator light enough to saturate a Node server on one core from another: `concurrency` raw
 * keep-alive TCP connections, each with one `GET /` outstanding, a response counted when its whole length
 * (learned from a first response, which must be a 200 with a Content-Length) has arrived. Node's own HTTP
 * client costs more per request than the server under test does, so with it the load generator — not the
 * server — is the bottleneck, and a requests/s ratio measures the generator's noise. The connections stay
 * open across `run()` calls (slices of load), so what is measured is requests, not connection set-up.
 * The response must be the same length every time (a fixed body, a Date header of fixed width).
 */
export async function rawLoadClient(port, concurrency = 64) {
  const { connect } = await import('node:net')
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  const size = await responseSize(connect, port, request)
  let done = 0
  let running = false
  let failure
  const open = (socket) =>
    new Promise((resolve, reject) => {
      let pending = 0
      socket.idle = false
      socket.setNoDelay(true)
      socket.once('connect', () => {
        socket.idle = true
        resolve(socket)
      })
      socket.on('data', (chunk) => {
        pending += chunk.length
        while (pending >= size) {
          pending -= size
          done++
          if (running) socket.write(request)
          else socket.idle = true
        }
      })
      socket.once('error', (error) => {
        failure ??= error
        reject(error)
      })
      socket.once('close', () => {
        failure ??= new Error('the server closed a load connection')
        socket.idle = true
      })
    })
  const sockets = await Promise.all(Array.from({ length: concurrency }, () => open(connect(port, '127.0.0.1'))))
  return {
    /** Load for `ms`; resolves to requests per second, after every outstanding response has arrived. */
    async run(ms) {
      done = 0
      running = true
      const started = performance.now()
      for (const socket of sockets) {
        socket.idle = false
        socket.write(request)
      }
      await new Promise((resolve) => setTimeout(resolve, ms))
      running = false
      const count = done
      const elapsed = performance.now() - started
      for (let waited = 0; !sockets.every((s) => s.idle); waited++) {
        if (waited > 10_000) throw new Error('responses still outstanding 10 s after the load stopped')
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      if (failure) throw failure
      return (count * 1000) / elapsed
    },
    close() {
      for (const socket of sockets) socket.destroy()
    },
  }
}

async function responseSize(connect, port, request) {
  const socket = connect(port, '127.0.0.1')
  socket.write(request)
  let text = ''
  try {
    return await new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1')
        const end = text.indexOf('\r\n\r\n')
        const length = /\r\ncontent-length: *(\d+)/i.exec(text)
        if (end === -1) return
        if (!text.startsWith('HTTP/1.1 200') || !length)
          return reject(new Error(`expected a 200 with a Content-Length; got ${JSON.stringify(text.slice(0, 80))}`))
        if (text.length >= end + 4 + Number(length[1])) resolve(text.length)
      })
    })
  } finally {
    socket.destroy()
  }
}
