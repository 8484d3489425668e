import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import type { Server } from '@grpc/grpc-js'
import { isProbeTraffic, perResource } from '@lameduck/core/adapter'
import { type AnyHttp2Server, type ServerControl, serverControl } from './internals.js'

/** Calls to the health service are probes, whoever sends them, and a Watch is a subscription, not work. */
const HEALTH_PATH = '/grpc.health.v1.Health/'

/**
 * The calls in flight on a grpc-js server, as the HTTP/2 streams under them: every HTTP/2 server grpc-js
 * runs for it gets a `stream` listener, from the first stream on for those created after the tracker.
 */
export class CallTracker {
  readonly control: ServerControl
  /** Calls in flight, health checks and watches left out. */
  readonly calls = new Set<ServerHttp2Stream>()
  readonly #arrivals = new Set<() => void>()
  readonly #attached = new Set<AnyHttp2Server>()
  readonly #offCreated: () => void
  #shutDown = false

  constructor(server: Server) {
    this.control = serverControl(server)
    for (const http2Server of this.control.http2Servers()) this.#attach(http2Server)
    this.#offCreated = this.control.onHttp2Server((http2Server) => {
      if (this.#shutDown) this.control.closeHttp2Server(http2Server)
      else this.#attach(http2Server)
    })
  }

  /**
   * The drain has shut the server down: a port a `bindAsync()` still in progress opens from now on is closed
   * as soon as it listens (tryShutdown() does not cancel a bind in progress).
   */
  shutDown(): void {
    this.#shutDown = true
  }

  /** Calls `listener` for each new call that is not a probe's; returns the undo. */
  onArrival(listener: () => void): () => void {
    this.#arrivals.add(listener)
    return () => this.#arrivals.delete(listener)
  }

  detach(): void {
    this.#offCreated()
    for (const http2Server of this.#attached) http2Server.off('stream', this.#onStream)
    this.#attached.clear()
  }

  #attach(http2Server: AnyHttp2Server): void {
    if (this.#attached.has(http2Server)) return
    this.#attached.add(http2Server)
    http2Server.on('stream', this.#onStream)
    http2Server.once('close', () => this.#attached.delete(http2Server))
  }

  readonly #onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const path = headers[':path']
    if (typeof path === 'string' && path.startsWith(HEALTH_PATH)) return
    this.calls.add(stream)
    stream.once('close', () => this.calls.delete(stream))
    const userAgent = headers['user-agent']
    if (isProbeTraffic(typeof userAgent === 'string' ? userAgent : undefined)) return
    for (const arrived of this.#arrivals) arrived()
  }
}

// One tracker per server, shared by every drain of it — another coordinator's, another copy's of this
// package (ESM and CommonJS side by side). Taken off the server when the last drain using it is removed.
export const useTracker = perResource(
  'grpc:trackers:v1',
  (server: Server) => new CallTracker(server),
  (tracker) => tracker.detach(),
)
