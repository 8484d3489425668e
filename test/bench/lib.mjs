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
