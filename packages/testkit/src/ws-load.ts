import { connect, type NetConnectOpts } from 'node:net'
import { checkOptions, count, duration } from '@lameduck/core/adapter'
import { WebSocket } from 'ws'
import { SIM_TIMINGS } from './defaults.js'

export interface WsLoadOptions {
  port: number
  /** WebSocket clients, each with one connection through the proxy at a time. */
  clients: number
  path: string
  /** Each client sends a message this often while connected. */
  intervalMs: number
  /** A connection attempt or a message unanswered for this long fails (`timeout`, lost). */
  requestTimeoutMs: number
  /** Looks up what really happened upstream to a connection that the proxy reset (see `LoadOptions`). */
  upstreamError?: (clientPort: number) => string | undefined
}

/**
 * What the WebSocket clients saw. A message is sent with an id the service echoes back: echoed, it is
 * acknowledged; unanswered when its connection is closed with a close code, the client knows it was not
 * acknowledged (and would send it again); unanswered when the connection dropped without a close frame, or
 * never answered on a connection still open, its fate is unknown to the client: lost.
 */
export interface WsCounts {
  clients: number
  /** Connections opened: the first ones and the reconnects. */
  connections: number
  /** Connections opened after the previous one of the same client was closed (by the server, or dropped). */
  reconnects: number
  /** The most reconnects that opened within one 100 ms bucket: how hard the clients came back at once. */
  peakReconnectsPer100ms: number
  /** Closes the clients saw, by code (the ones the simulator makes itself at the end left out). */
  closes: Record<string, number>
  /** Closes without a close frame (1006): the connection was cut, or the service died. */
  abnormalCloses: number
  /** Connection attempts (reconnects, and the first ones) that failed: refused, reset, an HTTP status, timeout. */
  failedConnects: number
  /** Failed attempts by kind: `ECONNREFUSED`, `ECONNRESET`, `HTTP 503`, `timeout`, … */
  connectFailures: Record<string, number>
  /** Messages sent. */
  messages: number
  /** Messages echoed back. */
  acked: number
  /** Unanswered when their connection was closed with a close code: the client knows (and would resend them). */
  unanswered: number
  /** Sent but neither answered nor known to have failed: dropped with the connection (1006), or never answered. */
  lost: number
}

export function emptyWsCounts(clients = 0): WsCounts {
  return {
    clients,
    connections: 0,
    reconnects: 0,
    peakReconnectsPer100ms: 0,
    closes: {},
    abnormalCloses: 0,
    failedConnects: 0,
    connectFailures: {},
    messages: 0,
    acked: 0,
    unanswered: 0,
    lost: 0,
  }
}

/**
 * WebSocket clients through the proxy, as real ones behave: each keeps one connection open, sends a message
 * every `intervalMs` and waits for its echo, and reconnects at once when its connection is closed — at
 * once, with no backoff or jitter of its own, so that only the server's spread keeps the reconnects from
 * arriving together — and again after a short pause when an attempt fails.
 */
export class WsLoad {
  readonly counts: WsCounts
  readonly #clients: WsClient[] = []
  /** Reconnects by 100 ms bucket of performance.now(). */
  readonly #buckets = new Map<number, number>()
  #sweeper: NodeJS.Timeout | undefined
  stopping = false

  constructor(readonly options: WsLoadOptions) {
    checkOptions('WsLoad', options, ['port', 'clients', 'path', 'intervalMs', 'requestTimeoutMs', 'upstreamError'])
    count('port of WsLoad', options.port, undefined, { min: 1, max: 65_535 })
    count('clients of WsLoad', options.clients, undefined, { min: 1 })
    duration('intervalMs of WsLoad', options.intervalMs, undefined, { positive: true })
    duration('requestTimeoutMs of WsLoad', options.requestTimeoutMs)
    this.counts = emptyWsCounts(options.clients)
  }

  start(): void {
    for (let i = 0; i < this.options.clients; i++) {
      const client = new WsClient(this, i)
      this.#clients.push(client)
      client.connect()
    }
    // One timer for every client's unanswered messages.
    this.#sweeper = setInterval(() => {
      const before = performance.now() - this.options.requestTimeoutMs
      for (const client of this.#clients) this.counts.lost += client.expire(before)
    }, SIM_TIMINGS.wsSweepMs)
  }

  /** A reconnect opened now. */
  reconnected(): void {
    this.counts.reconnects++
    const bucket = Math.floor(performance.now() / 100)
    const n = (this.#buckets.get(bucket) ?? 0) + 1
    this.#buckets.set(bucket, n)
    if (n > this.counts.peakReconnectsPer100ms) this.counts.peakReconnectsPer100ms = n
  }

  failed(kind: string): void {
    this.counts.failedConnects++
    this.counts.connectFailures[kind] = (this.counts.connectFailures[kind] ?? 0) + 1
  }

  /**
   * Stops sending, gives the messages in flight a moment to be answered, then closes every connection itself
   * (1000, not counted); what is still unanswered then is lost.
   */
  async stop(): Promise<WsCounts> {
    this.stopping = true
    const until = performance.now() + SIM_TIMINGS.wsSettleMs
    while (performance.now() < until && this.#clients.some((c) => c.pending.size > 0))
      await new Promise((resolve) => setTimeout(resolve, 20))
    clearInterval(this.#sweeper)
    for (const client of this.#clients) this.counts.lost += client.end()
    return this.counts
  }
}

class WsClient {
  /** Unanswered messages: id → performance.now() when sent. */
  readonly pending = new Map<string, number>()
  #ws: WebSocket | undefined
  #timer: NodeJS.Timeout | undefined
  #seq = 0
  /** Whether a connection of this client was open before: the next one is a reconnect. */
  #hadOne = false

  constructor(
    readonly load: WsLoad,
    readonly index: number,
  ) {}

  connect(): void {
    if (this.load.stopping) return
    const { port, path, requestTimeoutMs, intervalMs } = this.load.options
    const counts = this.load.counts
    // The socket made here, to read its port while it is open: a reset through the proxy is reported as what
    // happened upstream (a refusal), as the HTTP callers report it.
    let localPort: number | undefined
    const createConnection = ((options: NetConnectOpts) => {
      const socket = connect(options)
      socket.once('connect', () => {
        localPort = socket.localPort
      })
      return socket
    }) as typeof connect
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { handshakeTimeout: requestTimeoutMs, createConnection })
    this.#ws = ws
    let opened = false
    let failure: string | undefined
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (opened) return
      const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1]
      const upstream = localPort === undefined ? undefined : this.load.options.upstreamError?.(localPort)
      failure = status
        ? `HTTP ${status}`
        : /timed out/i.test(error.message)
          ? 'timeout'
          : (upstream ?? error.code ?? error.message)
    })
    ws.on('open', () => {
      opened = true
      counts.connections++
      if (this.#hadOne) this.load.reconnected()
      this.#hadOne = true
      // Each client's messages at its own phase, not all in the same tick.
      const send = () => this.#send()
      this.#timer = setTimeout(() => {
        send()
        this.#timer = setInterval(send, intervalMs)
      }, Math.random() * intervalMs)
    })
    ws.on('message', (data) => {
      if (this.pending.delete(String(data))) counts.acked++
    })
    ws.on('close', (code) => {
      clearTimeout(this.#timer)
      clearInterval(this.#timer)
      if (this.#ws !== ws) return
      this.#ws = undefined
      if (!opened) {
        this.load.failed(failure ?? 'closed before open')
        if (!this.load.stopping) setTimeout(() => this.connect(), SIM_TIMINGS.wsRetryMs)
        return
      }
      counts.closes[code] = (counts.closes[code] ?? 0) + 1
      if (code === 1006) {
        counts.abnormalCloses++
        counts.lost += this.pending.size
      } else counts.unanswered += this.pending.size
      this.pending.clear()
      this.connect()
    })
  }

  #send(): void {
    const ws = this.#ws
    if (this.load.stopping || ws === undefined || ws.readyState !== WebSocket.OPEN) return
    const id = `${this.index}:${++this.#seq}`
    this.pending.set(id, performance.now())
    this.load.counts.messages++
    ws.send(id)
  }

  /** Counts out (and forgets) the messages sent before `before` still unanswered: lost. */
  expire(before: number): number {
    let n = 0
    for (const [id, at] of this.pending)
      if (at < before) {
        this.pending.delete(id)
        n++
      }
    return n
  }

  /** Closes the connection at the end of the run (not counted); returns how many messages were unanswered. */
  end(): number {
    const ws = this.#ws
    this.#ws = undefined
    clearTimeout(this.#timer)
    clearInterval(this.#timer)
    ws?.close(1000)
    const n = this.pending.size
    this.pending.clear()
    return n
  }
}
