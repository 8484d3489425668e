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
  /**
   * Requests a caller sends on one connection before it ends it (`Connection: close` on the last) and opens
   * the next: 1 is a connection per request (no keep-alive); 0 keeps every connection open for good.
   */
  churn: number
  /** Looks up what really happened upstream to a connection that the proxy reset. */
  upstreamError?: (clientPort: number) => string | undefined
}

export interface LoadCounts {
  total: number
  ok: number
  failed: number
  failures: Record<string, number>
  /** Connections the callers opened (a request that went out on a new socket). */
  connections: number
}

/** Outcome of one request: `null` for success, or the kind of failure. */
export type RequestOutcome = string | null

/**
 * HTTP load the way most services are called: a fixed number of concurrent callers, each sending its next
 * request when the previous one is done. No retries: every reset, refusal, timeout or error status is counted.
 *
 * - `churn` 0: keep-alive for good, Node's `http.Agent` with `keepAlive` shared by the callers — the most
 *   common client. A caller opens a new connection only when the server ends the one it had.
 * - `churn` n: each caller holds one connection of its own and ends it with its n-th request
 *   (`Connection: close`), as load balancers and client pools that cap the requests per connection do (1: a
 *   connection per request, no keep-alive). Each new connection is routed afresh by the proxy, to whatever
 *   is still in its endpoints: that is what puts a drain delay shorter than the endpoint propagation to the test.
 */
export class LoadGenerator {
  readonly counts: LoadCounts = { total: 0, ok: 0, failed: 0, failures: {}, connections: 0 }
  readonly #agent: Agent
  readonly #agents: Agent[] = []
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
      'churn',
      'upstreamError',
    ])
    count('port of LoadGenerator', options.port, undefined, { min: 1, max: 65_535 })
    count('concurrency of LoadGenerator', options.concurrency, undefined, { min: 1 })
    duration('thinkMs of LoadGenerator', options.thinkMs)
    duration('requestTimeoutMs of LoadGenerator', options.requestTimeoutMs)
    count('churn of LoadGenerator', options.churn, undefined, { min: 0 })
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
    for (const agent of this.#agents) agent.destroy()
  }

  async #work(): Promise<void> {
    const { thinkMs, churn } = this.options
    const caller = churn > 0 ? new Caller(churn) : undefined
    const agent = caller ? caller.agent : this.#agent
    if (caller) this.#agents.push(caller.agent)
    const onSocket = (socket: Socket) => {
      if (socket.connecting) this.counts.connections++
      caller?.using(socket)
    }
    while (!this.#stopping) {
      const close = caller?.lastOnConnection() ?? false
      const outcome = await send(agent, this.options.port, this.options.path, { ...this.options, close, onSocket })
      if (close) caller?.ended()
      record(this.counts, outcome)
      if (thinkMs > 0 && !this.#stopping) await delay(Math.min(thinkMs * Math.random() * 2, MAX_TIMER_MS))
    }
  }
}

/** A caller with a connection of its own, which it ends every `churn` requests. */
class Caller {
  /**
   * The caller's connection: one in use at a time, but room for the next one while the last still closes
   * (through the proxy, in this busy process, that takes a while: with one socket, the wait halved the load).
   */
  readonly agent = new Agent({ keepAlive: true, maxSockets: 2 })
  #socket: Socket | undefined
  #sent = 0

  constructor(readonly churn: number) {}

  /** Whether the next request is the last on its connection: the one that says `Connection: close`. */
  lastOnConnection(): boolean {
    // A connection the server ended (its own `Connection: close`, a reset) is not reused: the next request
    // is the first on a new one.
    const reused = this.#socket !== undefined && !this.#socket.destroyed
    return (reused ? this.#sent + 1 : 1) >= this.churn
  }

  /** The caller ended its connection (its last request is done): the next request opens a new one. */
  ended(): void {
    this.#socket = undefined
  }

  /** A request of this caller went out on `socket`. */
  using(socket: Socket): void {
    if (socket !== this.#socket) {
      this.#socket = socket
      this.#sent = 0
    }
    this.#sent++
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
  options: Pick<LoadOptions, 'requestTimeoutMs' | 'upstreamError'> & {
    /** Ends the connection with this request (`Connection: close`). */
    close?: boolean
    /** Called with the socket the request goes out on. */
    onSocket?: (socket: Socket) => void
  },
): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    let localPort: number | undefined
    let done = false
    const finish = (outcome: RequestOutcome) => {
      if (done) return
      done = true
      resolve(outcome)
    }
    const headers = options.close ? { connection: 'close' } : undefined
    const req = request({ agent, host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
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
      options.onSocket?.(s)
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
