import { Agent, request } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { checkOptions, count, duration, MAX_TIMER_MS } from '@lameduck/core/adapter'

export interface LoadOptions {
  port: number
  path: string
  concurrency: number
  thinkMs: number
  requestTimeoutMs: number
  /** Looks up what really happened upstream to a connection that the proxy reset. */
  upstreamError?: (clientPort: number) => string | undefined
}

export interface LoadCounts {
  total: number
  ok: number
  failed: number
  failures: Record<string, number>
}

/** Outcome of one request: `null` for success, or the kind of failure. */
export type RequestOutcome = string | null

/**
 * Keep-alive HTTP load the way most services are called: Node's `http.Agent` with `keepAlive`, a fixed
 * number of concurrent callers, each sending its next request when the previous one is done. No retries:
 * every reset, refusal, timeout or error status is counted.
 */
export class LoadGenerator {
  readonly counts: LoadCounts = { total: 0, ok: 0, failed: 0, failures: {} }
  readonly #agent: Agent
  readonly #workers: Promise<void>[] = []
  #stopping = false

  constructor(readonly options: LoadOptions) {
    // It receives its options over IPC from the simulator: check them where they arrive.
    checkOptions('LoadGenerator', options, [
      'port',
      'path',
      'concurrency',
      'thinkMs',
      'requestTimeoutMs',
      'upstreamError',
    ])
    count('port of LoadGenerator', options.port, undefined, { min: 1, max: 65_535 })
    count('concurrency of LoadGenerator', options.concurrency, undefined, { min: 1 })
    duration('thinkMs of LoadGenerator', options.thinkMs)
    duration('requestTimeoutMs of LoadGenerator', options.requestTimeoutMs)
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
  }

  start(): void {
    for (let i = 0; i < this.options.concurrency; i++) this.#workers.push(this.#work())
  }

  /** Stops sending; resolves when every request in flight has finished. */
  async stop(): Promise<void> {
    this.#stopping = true
    await Promise.all(this.#workers)
    this.#agent.destroy()
  }

  async #work(): Promise<void> {
    const { thinkMs } = this.options
    while (!this.#stopping) {
      const outcome = await send(this.#agent, this.options.port, this.options.path, this.options)
      record(this.counts, outcome)
      if (thinkMs > 0 && !this.#stopping) await delay(Math.min(thinkMs * Math.random() * 2, MAX_TIMER_MS))
    }
  }
}

export function record(counts: LoadCounts, outcome: RequestOutcome): void {
  counts.total++
  if (outcome === null) {
    counts.ok++
    return
  }
  counts.failed++
  counts.failures[outcome] = (counts.failures[outcome] ?? 0) + 1
}

/** Sends one GET and says how it went. Never rejects. */
export function send(
  agent: Agent | false,
  port: number,
  path: string,
  options: Pick<LoadOptions, 'requestTimeoutMs' | 'upstreamError'>,
): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    let localPort: number | undefined
    let done = false
    const finish = (outcome: RequestOutcome) => {
      if (done) return
      done = true
      resolve(outcome)
    }
    const req = request({ agent, host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.on('data', () => {})
      res.once('end', () => {
        const status = res.statusCode ?? 0
        finish(status >= 400 ? `HTTP ${status}` : null)
      })
      res.once('aborted', () => finish('ECONNRESET'))
      res.once('error', (error: NodeJS.ErrnoException) => finish(kindOf(error, localPort, options)))
    })
    // Read the port while the socket is open: after a reset it is gone.
    req.once('socket', (s: Socket) => {
      if (s.connecting)
        s.once('connect', () => {
          localPort = s.localPort
        })
      else localPort = s.localPort
    })
    req.setTimeout(options.requestTimeoutMs, () => {
      finish('timeout')
      req.destroy()
    })
    req.once('error', (error: NodeJS.ErrnoException) => finish(kindOf(error, localPort, options)))
    req.end()
  })
}

function kindOf(
  error: NodeJS.ErrnoException,
  localPort: number | undefined,
  options: Pick<LoadOptions, 'upstreamError'>,
): string {
  const upstream = localPort === undefined ? undefined : options.upstreamError?.(localPort)
  if (upstream) return upstream
  if (error.code) return error.code === 'ETIMEDOUT' ? 'timeout' : error.code
  return error.message || 'error'
}
