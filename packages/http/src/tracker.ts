import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import { Server as NetServer, type Socket } from 'node:net'
import { type TLSSocket, Server as TlsServer } from 'node:tls'
import { isProtected } from './protect.js'

/** Any server lameduck can drain: `node:http`, `node:https`, `node:http2` (plain or secure). */
export type AnyServer = NetServer

type Response = ServerResponse | Http2ServerResponse

// Per-socket state lives on the socket itself: no map lookups on the request path, and nothing to
// clean up when the socket goes away.
const kActive = Symbol('lameduck.active')
const kIdleSince = Symbol('lameduck.idleSince')
const kTracker = Symbol('lameduck.tracker')
const kSocket = Symbol('lameduck.socket')
// On a raw TCP socket: the socket itself, so that it can be read through the proxy `Http2Session#socket` is.
// On an HTTP/2 session: the raw TCP socket under it.
const kRaw = Symbol('lameduck.raw')
interface TrackedResponse {
  [kTracker]: ConnectionTracker
  [kSocket]: TrackedSocket | undefined
}

// One shared listener instead of a closure per request: this is the hot path.
function onResponseClose(this: Response & TrackedResponse): void {
  this[kTracker].responses.delete(this)
  const socket = this[kSocket]
  if (socket) {
    socket[kActive]--
    socket[kIdleSince] = performance.now()
  }
}
interface TrackedSocket extends Socket {
  [kActive]: number
  [kIdleSince]: number
  [kTracker]: ConnectionTracker
}

function onSocketClose(this: TrackedSocket): void {
  this[kTracker].sockets.delete(this)
}

/** The TCP socket under `socket`: itself when raw-tracked, the parent of a TLS socket, or a session's. */
function rawUnder(socket: object | null | undefined): Socket | undefined {
  if (!socket) return undefined
  const s = socket as { [kRaw]?: Socket; _parent?: Socket | null }
  return s[kRaw] ?? s._parent ?? undefined
}

/**
 * Sees every connection of one server: HTTP/1 sockets (and whether a request is in flight on them),
 * TLS sockets before their handshake, HTTP/2 sessions, and the responses in flight.
 */
export class ConnectionTracker {
  /** HTTP/1 connections (TCP sockets, or TLS sockets after the handshake). */
  readonly sockets = new Set<TrackedSocket>()
  /** TCP sockets under TLS or HTTP/2: only ever force-closed. */
  readonly raw = new Set<Socket>()
  readonly sessions = new Set<Http2Session>()
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

  constructor(readonly server: AnyServer) {
    this.#isHttp2 = typeof (server as { updateSettings?: unknown }).updateSettings === 'function'
    this.#isTls = server instanceof TlsServer
    // Prepended: on a cleartext HTTP/2 server, Node's own 'connection' listener sets up the session (and
    // emits 'session') at once, and the session must find its raw socket marked.
    server.prependListener('connection', (socket: Socket) => {
      if (this.#isTls || this.#isHttp2) this.#trackRaw(socket)
      else this.track(socket)
    })
    if (this.#isTls)
      server.on('secureConnection', (socket: TLSSocket) => {
        // On an HTTP/2 server only the HTTP/1 fallback (allowHTTP1) is socket-managed; h2 has sessions.
        if (!this.#isHttp2 || socket.alpnProtocol !== 'h2') this.track(socket)
      })
    server.on('session', (session: Http2Session) => {
      this.sessions.add(session)
      // `session.socket` is a proxy that forwards property reads to the TCP (h2c) or TLS (h2) socket.
      ;(session as Http2Session & { [kRaw]?: Socket })[kRaw] = rawUnder(session.socket)
      session.once('close', () => this.sessions.delete(session))
      if (this.draining) session.close()
    })
    // Before the application's own handler, so `Connection: close` is set before it can answer.
    server.prependListener('request', (req: IncomingMessage | Http2ServerRequest, res: Response) =>
      this.#onRequest(req, res),
    )
  }

  /** Starts tracking an HTTP/1 socket (also done lazily for sockets accepted before attaching). */
  track(socket: Socket): TrackedSocket {
    const tracked = socket as TrackedSocket
    if (this.sockets.has(tracked)) return tracked
    tracked[kActive] = 0
    tracked[kIdleSince] = performance.now()
    tracked[kTracker] = this
    this.sockets.add(tracked)
    socket.once('close', onSocketClose)
    return tracked
  }

  #trackRaw(socket: Socket): void {
    ;(socket as Socket & { [kRaw]?: Socket })[kRaw] = socket
    this.raw.add(socket)
    socket.once('close', () => this.raw.delete(socket))
  }

  #onRequest(req: IncomingMessage | Http2ServerRequest, res: Response): void {
    this.responses.add(res)
    const tracked = res as Response & TrackedResponse
    tracked[kTracker] = this
    if (req.httpVersionMajor >= 2) {
      tracked[kSocket] = undefined
    } else {
      const socket = this.track(req.socket as Socket)
      socket[kActive]++
      tracked[kSocket] = socket
      if (this.lameDuck && !res.headersSent) res.setHeader('connection', 'close')
    }
    res.on('close', onResponseClose)
  }

  /**
   * The raw TCP socket under an HTTP/1 TLS socket or an HTTP/2 session (h2c or h2 over TLS), if it is one
   * of `raw`; `undefined` for a plain HTTP/1 socket.
   */
  rawOf(connection: Socket | Http2Session): Socket | undefined {
    return rawUnder(connection)
  }

  /** Whether an HTTP/1 socket has a request in flight. */
  isActive(socket: Socket): boolean {
    return (socket as TrackedSocket)[kActive] > 0
  }

  idleForMs(socket: Socket, now: number): number {
    return (socket as TrackedSocket)[kActive] > 0 ? 0 : now - (socket as TrackedSocket)[kIdleSince]
  }

  /** A socket handed over to another protocol (WebSocket upgrade, CONNECT): no parser left on it. */
  isUpgraded(socket: Socket): boolean {
    return (socket as { parser?: unknown }).parser === null && !socket.destroyed
  }

  /** Connections the drain is still waiting for, the protected one excluded. */
  pending(): number {
    let count = 0
    for (const socket of this.sockets) if (!isProtected(socket)) count++
    for (const session of this.sessions) if (!isProtected(session)) count++
    return count
  }

  /** Responses still in flight that are not the protected /shutdown one. */
  inFlight(): Response[] {
    return [...this.responses].filter((res) => {
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

/** Stops accepting connections without touching the open ones (unlike `http.Server#close` on Node ≥ 19). */
export function stopAccepting(server: AnyServer | HttpServer): void {
  if (!server.listening) return
  NetServer.prototype.close.call(server, () => {})
}
