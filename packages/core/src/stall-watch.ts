import { Worker } from 'node:worker_threads'

/**
 * Watches the main thread's event loop from a worker thread during a run. No timer can preempt
 * synchronous code: a task stuck in a loop holds the coordinator's timeouts, its watchdog and every log
 * line until it returns, and the kubelet's SIGKILL may come first. The worker is not blocked by that: it
 * sees the main thread's heartbeat stop and writes what is known — which tasks were running, how long
 * the loop has been blocked, that the deadline passed — straight to stderr (fd 2, synchronously) in the
 * JSON-lines format of the default logger, so the last words reach the pod's log even when the process
 * is killed while still blocked.
 *
 * Started at the trigger (never before: nothing runs in the background of a healthy service), only when
 * the coordinator owns the exit. Its cost: one worker (~1 ms of main-thread time to start, a few MB),
 * and a heartbeat every `beatMs`.
 */
export interface StallWatch {
  running(tasks: string[]): void
  stop(): void
}

const source = `
const { parentPort, workerData } = require('node:worker_threads')
const { writeSync } = require('node:fs')
const beat = new Float64Array(workerData.buffer)
const { stallMs, deadline, checkMs } = workerData
let running = []
let reportedBeat = 0
let saidDeadline = false
parentPort.on('message', (message) => {
  if (message.type === 'running') running = message.running
})
const write = (level, fields, msg) => {
  try {
    writeSync(2, JSON.stringify({ level, time: Date.now(), name: 'lameduck', msg, ...fields }) + '\\n')
  } catch {}
}
setInterval(() => {
  const now = Date.now()
  const last = beat[0]
  const blockedMs = now - last
  if (blockedMs < stallMs) return
  if (reportedBeat !== last) {
    reportedBeat = last
    write('warn', { event: 'event-loop.blocked', blockedMs, running, from: 'stall-watch' },
      'the event loop has been blocked for ' + blockedMs + ' ms' +
      (running.length ? ' while running task ' + running.join(', ') : '') +
      ': no timer can fire until it returns')
  }
  if (!saidDeadline && now >= deadline) {
    saidDeadline = true
    write('error', { event: 'deadline.blocked', blockedMs, running, deadline, from: 'stall-watch' },
      'the deadline passed while the event loop is blocked' +
      (running.length ? ' by task ' + running.join(', ') : '') +
      ': lameduck cannot exit before SIGKILL')
  }
}, checkMs).unref()
`

export function startStallWatch(options: { deadline: number; stallMs: number; beatMs: number }): StallWatch {
  const buffer = new SharedArrayBuffer(8)
  const beat = new Float64Array(buffer)
  beat[0] = Date.now()
  const heartbeat = setInterval(() => {
    beat[0] = Date.now()
  }, options.beatMs)
  heartbeat.unref()
  let worker: Worker | undefined
  try {
    worker = new Worker(source, {
      eval: true,
      workerData: { buffer, stallMs: options.stallMs, deadline: options.deadline, checkMs: options.beatMs },
      stdout: false,
      stderr: false,
      // A watcher must never be what keeps the process alive, nor take much memory.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    })
    worker.unref()
    // A watcher that fails is a lost diagnostic, never a failed shutdown.
    worker.on('error', () => {})
  } catch {
    worker = undefined
  }
  return {
    running(tasks) {
      worker?.postMessage({ type: 'running', running: tasks })
    },
    stop() {
      clearInterval(heartbeat)
      void worker?.terminate().catch(() => {})
      worker = undefined
    },
  }
}
