import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import { Server as NetServer, type Socket } from 'node:net'
import { type TLSSocket, Server as TlsServer } from 'node:tls'
import { isProbeTraffic, requestClaim, socketOwner } from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from './defaults.js'
import {
  type Internals,
  internals,
  keepAfterSent,
  parserFreed,
  readBehind,
  responseOn,
  tlsParentOf,
} from './internals.js'
import { isProtected } from './protect.js'

/** Any server lameduck can drain: `node:http`, `node:https`, `node:http2` (plain or secure). */
export type AnyServer = NetServer

type Response = ServerResponse | Http2ServerResponse

// Per-socket state lives on the socket itself (set once per connection): no map lookups, nothing to clean
// up when the socket goes away. Requests cost nothing until the first trigger: whether an HTTP/1 socket has
// a request in flight is read from Node's own `socket._httpMessage` (the response being written on it, as
// http-terminator reads it too; see internals.ts), not counted per request — a listener and a Set entry per
// response cost about 3 % of a trivial Express app's throughput, and a property on each response (giving
// Node's ServerResponse objects a shape of their own) another 5 %, in Node's own hot code.
// The keys are `Symbol.for`, the same in every copy of this package (ESM and CommonJS side by side).
const kActive = Symbol.for('lameduck:http:active')
const kIdleSince = Symbol.for('lameduck:http:idle-since')
const kTracker = Symbol.for('lameduck:http:tracker')
const kCloses = Symbol.for('lameduck:http:closes')
// On an HTTP/1 socket accepted during lame duck: its first request is still to come, and counts as an
// arrival for the adaptive drain delay (unless it is a probe's). HTTP/2: every stream during lame duck.
const kFresh = Symbol.for('lameduck:http:fresh')
// On a raw TCP socket: the socket itself, so that it can be read through the proxy `Http2Session#socket` is.
// On an HTTP/2 session: the raw TCP socket under it.
const kRaw = Symbol.for('lameduck:http:raw')

interface TrackedSocket extends Socket {
  /** Requests in flight, counted only where Node's `_httpMessage` is not used (the fallback). */
  [kActive]: number
  /** When the socket was last seen with nothing in flight — from the trigger on, sampled. */
  [kIdleSince]: number
  [kTracker]: ConnectionTracker
  /** From the trigger on: the response lameduck asked to close the socket after (see `#closeAfter`). */
  [kCloses]: ServerResponse | undefined
  /** Accepted during lame duck, first request not yet seen. */
  [kFresh]: boolean
}

/** The key of a connection by its peer: how the fallback finds the TCP socket under a TLS one. */
function peerOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`
}

/**
 * Sees every connection of one server: HTTP/1 sockets (and whether a request is in flight on them),
 * TLS sockets before their handshake, HTTP/2 sessions and their responses in flight.
 */
export class ConnectionTracker {
  /** HTTP/1 connections (TCP sockets, or TLS sockets after the handshake). */
  readonly sockets = new Set<TrackedSocket>()
  /** TCP sockets under TLS or HTTP/2: only ever force-closed. */
  readonly raw = new Set<Socket>()
  readonly sessions = new Set<Http2Session>()
  /** HTTP/2 responses in flight (and HTTP/1 ones, when counting per response). */
  readonly responses = new Set<Response>()
  /**
   * Lame duck, from the first trigger: HTTP/1 responses carry `Connection: close`. Everything else — new
   * connections, new and existing HTTP/2 sessions — is served as usual: the endpoints still list the pod.
   */
  lameDuck = false
  /** The drain has started: HTTP/2 sessions set up from now on are sent GOAWAY at once. */
  draining = false
  readonly #isHttp2: boolean
  readonly #isTls: boolean
  /** The private fields of Node this tracker reads (see internals.ts); the fallbacks for the others. */
  readonly #use: Internals
  /** Without `_httpMessage`: count per response instead, from the start. */
  readonly #countResponses: boolean
  /** Keep-alive mechanics, not a budget: marks busy sockets as not idle every `sweepMs` from the trigger. */
  #sampler: NodeJS.Timeout | undefined
  /** Called for each connection accepted during lame duck, at its first request (probes excepted). */
  readonly #arrivals = new Set<() => void>()
  /** Fallback of `tlsParent`: the TCP sockets under TLS, by peer address. */
  readonly #rawByPeer = new Map<string, Socket>()
  /** Fallback of `parser`: the sockets the server handed to an `upgrade` or `connect` listener. */
  readonly #upgraded = new WeakSet<Socket>()

  /** `internals`: which private fields of Node to read (default: those this Node has; tests force fallbacks). */
  constructor(
    readonly server: AnyServer,
    options: { internals?: Internals } = {},
  ) {
    this.#use = options.internals ?? internals()
    this.#countResponses = !this.#use.httpMessage
    this.#isHttp2 = typeof (server as { updateSettings?: unknown }).updateSettings === 'function'
    this.#isTls = server instanceof TlsServer
    // Prepended: on a cleartext HTTP/2 server, Node's own 'connection' listener sets up the session (and
    // emits 'session') at once, and the session must find its raw socket marked.
    server.prependListener('connection', this.#onConnection)
    if (this.#isTls) server.on('secureConnection', this.#onSecureConnection)
    server.on('session', this.#onSession)
    // HTTP/2 responses are followed from the start (a session's streams are not otherwise visible); HTTP/1
    // requests cost nothing until the trigger, when this listener is added for them (see startLameDuck).
    if (this.#isHttp2 || this.#countResponses) this.#listen()
    if (this.#countResponses) this.#watchUpgrades()
  }

  readonly #onConnection = (socket: Socket): void => {
    if (this.#isTls || this.#isHttp2) this.#trackRaw(socket)
    else this.track(socket)
  }

  readonly #onSecureConnection = (socket: TLSSocket): void => {
    // On an HTTP/2 server only the HTTP/1 fallback (allowHTTP1) is socket-managed; h2 has sessions.
    if (!this.#isHttp2 || socket.alpnProtocol !== 'h2') this.track(socket)
  }

  readonly #onSession = (session: Http2Session): void => {
    this.sessions.add(session)
    // `session.socket` is a proxy that forwards property reads to the TCP (h2c) or TLS (h2) socket.
    ;(session as Http2Session & { [kRaw]?: Socket })[kRaw] = this.rawOf(session.socket as Socket)
    session.once('close', () => this.sessions.delete(session))
    if (this.draining) session.close()
  }

  readonly #onRequestEvent = (req: IncomingMessage | Http2ServerRequest, res: Response): void =>
    this.#onRequest(req, res)

  /** Before the application's own handler, so `Connection: close` is set before it can answer. */
  #listen(): void {
    this.server.prependListener('request', this.#onRequestEvent)
  }

  // Fallback of `parser`: an upgraded socket is one the server handed to an `upgrade` or `connect` listener.
  // Ours is there only while the application has one of its own (with none, Node destroys such sockets,
  // and a listener of ours would change that), and runs first.
  readonly #markUpgraded = (_req: unknown, socket: Socket): void => {
    this.#upgraded.add(socket)
  }

  readonly #onNewListener = (event: string | symbol, listener: unknown): void => {
    if ((event === 'upgrade' || event === 'connect') && listener !== this.#markUpgraded)
      if (!this.server.listeners(event).includes(this.#markUpgraded))
        this.server.prependListener(event, this.#markUpgraded)
  }

  readonly #onRemoveListener = (event: string | symbol, listener: unknown): void => {
    if ((event === 'upgrade' || event === 'connect') && listener !== this.#markUpgraded) {
      const left = this.server.listeners(event)
      if (left.length === 1 && left[0] === this.#markUpgraded) this.server.off(event, this.#markUpgraded)
    }
  }

  #watchUpgrades(): void {
    for (const event of ['upgrade', 'connect'] as const)
      if (this.server.listenerCount(event) > 0) this.server.prependListener(event, this.#markUpgraded)
    this.server.on('newListener', this.#onNewListener)
    this.server.on('removeListener', this.#onRemoveListener)
  }

  /** Stops sampling and takes every listener off the server: the drain was removed. */
  detach(): void {
    this.stop()
    this.server.off('connection', this.#onConnection)
    this.server.off('secureConnection', this.#onSecureConnection)
    this.server.off('session', this.#onSession)
    this.server.off('request', this.#onRequestEvent)
    this.server.off('newListener', this.#onNewListener)
    this.server.off('removeListener', this.#onRemoveListener)
    this.server.off('upgrade', this.#markUpgraded)
    this.server.off('connect', this.#markUpgraded)
  }

  // One function per tracker, not per socket; its own set (another coordinator may drain the same server).
  readonly #onSocketClose = ((sockets: Set<TrackedSocket>) =>
    function onSocketClose(this: TrackedSocket): void {
      sockets.delete(this)
    })(this.sockets)

  /** Starts tracking an HTTP/1 socket (also done lazily for sockets accepted before attaching). */
  track(socket: Socket): TrackedSocket {
    const tracked = socket as TrackedSocket
    if (tracked[kTracker] === this) return tracked
    tracked[kActive] = 0
    tracked[kIdleSince] = performance.now()
    tracked[kTracker] = this
    tracked[kCloses] = undefined
    tracked[kFresh] = this.lameDuck
    this.sockets.add(tracked)
    socket.once('close', this.#onSocketClose)
    return tracked
  }

  #trackRaw(socket: Socket): void {
    ;(socket as Socket & { [kRaw]?: Socket })[kRaw] = socket
    this.raw.add(socket)
    const peer = this.#use.tlsParent ? undefined : peerOf(socket)
    if (peer !== undefined) this.#rawByPeer.set(peer, socket)
    socket.once('close', () => {
      this.raw.delete(socket)
      if (peer !== undefined && this.#rawByPeer.get(peer) === socket) this.#rawByPeer.delete(peer)
    })
  }

  /**
   * Subscribes to arrivals: HTTP/1 connections accepted during lame duck, told at their first request, and
   * every HTTP/2 stream during lame duck — unless its User-Agent is a probe's (the kit's `isProbeTraffic`).
   * Returns the unsubscribe function.
   */
  onArrival(listener: () => void): () => void {
    this.#arrivals.add(listener)
    return () => this.#arrivals.delete(listener)
  }

  #arrived(req: IncomingMessage | Http2ServerRequest): void {
    if (isProbeTraffic(req.headers['user-agent'])) return
    for (const listener of this.#arrivals) listener()
  }

  #onRequest(req: IncomingMessage | Http2ServerRequest, res: Response): void {
    if (req.httpVersionMajor >= 2) {
      // Every stream: an HTTP/2 session is served as usual until the drain (no Connection: close to move its
      // client elsewhere), and a proxy multiplexing onto it routes each stream by the endpoints it knows.
      if (this.lameDuck) this.#arrived(req)
      const responses = this.responses
      responses.add(res)
      res.on('close', () => responses.delete(res))
      return
    }
    const socket = req.socket as TrackedSocket
    if (socket[kTracker] !== this) {
      // Accepted before the drain was attached: not an arrival.
      this.track(socket)
      socket[kFresh] = false
    } else if (socket[kFresh]) {
      socket[kFresh] = false
      this.#arrived(req)
    }
    if (this.#countResponses) {
      const responses = this.responses
      responses.add(res)
      socket[kActive]++
      res.on('close', () => {
        responses.delete(res)
        socket[kActive]--
        socket[kIdleSince] = performance.now()
      })
    }
    if (this.lameDuck && !this.#ownedElsewhere(socket, req as IncomingMessage))
      this.#closeAfter(socket, res as ServerResponse)
  }

  /**
   * Whether another adapter answers for `socket`: handed over already, or claimed with this request (the
   * kit's `claimRequests`: socket.io's long-polling requests), and then handed over now. Such a socket is
   * never asked to close by lame duck: its owner closes it, in its own order.
   */
  #ownedElsewhere(socket: Socket, req: IncomingMessage): boolean {
    return socketOwner(socket) !== undefined || requestClaim(this.server, req) !== undefined
  }

  /**
   * Asks the client to close `socket` after `res`, the response to the latest request read on it, and takes
   * that request back from the response before it. A pipelining client may have sent several requests
   * before reading any response; Node's parser reads them all and hands them to the application, queues
   * their responses, and ends the socket after the first one that says `Connection: close`, dropping the
   * responses queued behind it. So only the last request read so far gets the close: an earlier response
   * whose headers are not out yet goes out keep-alive, and one already sent with the close (the application
   * answered before the next request was read) still lets Node write the queued responses after it.
   * (`shouldKeepAlive` is Node's, typed in @types/node: the close without a header the application sees.)
   */
  #closeAfter(socket: TrackedSocket, res: ServerResponse): void {
    const previous = socket[kCloses]
    if (previous !== undefined && previous !== res) {
      if (!previous.headersSent) previous.shouldKeepAlive = true
      else if (this.#use.responseFlags) keepAfterSent(previous)
    }
    // Only a close lameduck decides: not one the client asked for (HTTP/1.0, `Connection: close`), nor a
    // `Connection` header the application set.
    if (!res.headersSent && res.shouldKeepAlive && !res.hasHeader('connection')) {
      res.shouldKeepAlive = false
      socket[kCloses] = res
    } else if (previous !== res) socket[kCloses] = undefined
  }

  /**
   * The first trigger: from now on every HTTP/1 response asks for `Connection: close` (those in flight too,
   * if their headers are not out yet), and idle time is counted — from now, at the earliest: a socket
   * counts as idle for as long as it has been seen with nothing in flight since the trigger.
   */
  startLameDuck(): void {
    if (this.lameDuck) return
    this.lameDuck = true
    if (!this.#isHttp2 && !this.#countResponses) this.#listen()
    const now = performance.now()
    for (const socket of this.sockets) {
      socket[kIdleSince] = now
      const res = this.#countResponses ? undefined : responseOn(socket)
      // A request read behind the one being answered has its response queued, out of sight: closing after
      // this one would drop it. The socket then stays keep-alive; its next request is asked to close.
      if (res && !readBehind(socket, res) && !this.#ownedElsewhere(socket, res.req)) this.#closeAfter(socket, res)
    }
    // Counting per response sees the queued responses too, in the order their requests were read.
    for (const res of this.responses)
      if (!isHttp2Response(res) && !this.#ownedElsewhere(res.req.socket, res.req))
        this.#closeAfter(this.track(res.req.socket), res as ServerResponse)
    this.#sampler = setInterval(() => this.sample(), HTTP_DEFAULTS.sweepMs)
    this.#sampler.unref()
  }

  /** Marks the sockets with a request in flight as not idle: called every `sweepMs` from the trigger on. */
  sample(): void {
    const now = performance.now()
    for (const socket of this.sockets) if (this.isActive(socket)) socket[kIdleSince] = now
  }

  /** Stops sampling (the drain is over). */
  stop(): void {
    clearInterval(this.#sampler)
  }

  /**
   * The raw TCP socket under an HTTP/1 TLS socket or an HTTP/2 session (h2c or h2 over TLS), if it is one
   * of `raw`; `undefined` for a plain HTTP/1 socket.
   */
  rawOf(connection: Socket | Http2Session): Socket | undefined {
    const marked = (connection as { [kRaw]?: Socket })[kRaw]
    if (marked !== undefined) return marked
    if (this.#use.tlsParent) return tlsParentOf(connection)
    const socket = isSession(connection) ? connection.socket : connection
    return this.#rawByPeer.get(peerOf(socket))
  }

  /** Whether an HTTP/1 socket has a request in flight. */
  isActive(socket: Socket): boolean {
    if (this.#countResponses) return (socket as TrackedSocket)[kActive] > 0
    return responseOn(socket) !== undefined
  }

  /** How long an HTTP/1 socket has been seen idle (0 while a request is in flight). */
  idleForMs(socket: Socket, now: number): number {
    if (this.isActive(socket)) {
      ;(socket as TrackedSocket)[kIdleSince] = now
      return 0
    }
    return now - (socket as TrackedSocket)[kIdleSince]
  }

  /** A socket handed over to another protocol (WebSocket upgrade, CONNECT). */
  isUpgraded(socket: Socket): boolean {
    if (this.#countResponses) return this.#upgraded.has(socket) && !socket.destroyed
    return parserFreed(socket)
  }

  /**
   * Connections the drain is still waiting for: not the protected one, nor upgraded sockets handed over to
   * another adapter (the kit's `handOverSocket`: a WebSocket adapter closes those itself, by its own deadline).
   */
  pending(): number {
    let count = 0
    for (const socket of this.sockets) if (!isProtected(socket) && socketOwner(socket) === undefined) count++
    for (const session of this.sessions) if (!isProtected(session)) count++
    return count
  }

  /** Every response in flight: the one on each busy HTTP/1 socket, and the HTTP/2 ones. */
  #allInFlight(): Response[] {
    const all = [...this.responses]
    if (!this.#countResponses)
      for (const socket of this.sockets) {
        const res = responseOn(socket)
        if (res) all.push(res)
      }
    return all
  }

  /** Number of responses in flight, the protected one included (for metrics). */
  inFlightCount(): number {
    return this.#allInFlight().length
  }

  /** Responses still in flight that are not the protected /shutdown one. */
  inFlight(): Response[] {
    return this.#allInFlight().filter((res) => {
      const socket = (res as ServerResponse).socket ?? (res as Http2ServerResponse).stream?.session?.socket
      const session = (res as Http2ServerResponse).stream?.session
      return !(socket && isProtected(socket)) && !(session && isProtected(session))
    })
  }

  /** The server's kind, for messages. */
  get kind(): 'http' | 'https' | 'http2' {
    return this.#isHttp2 ? 'http2' : this.#isTls ? 'https' : 'http'
  }
}

function isSession(connection: Socket | Http2Session): connection is Http2Session {
  return typeof (connection as Http2Session).goaway === 'function'
}

function isHttp2Response(res: Response): res is Http2ServerResponse {
  return (res as Http2ServerResponse).stream !== undefined
}

/** Stops accepting connections without touching the open ones (unlike `http.Server#close` on Node ≥ 19). */
export function stopAccepting(server: AnyServer | HttpServer): void {
  if (!server.listening) return
  NetServer.prototype.close.call(server, () => {})
}
