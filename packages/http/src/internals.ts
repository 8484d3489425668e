import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'

// Every private field of Node's http, net and tls objects that @lameduck/http reads or writes, in this one
// file. Each is feature-detected once, at load, on objects made for the purpose; where one is missing (a
// Node that renamed it, another runtime), the tracker takes the fallback named with it, built on public
// API only. `fallbackForTests(true)` forces every fallback (tests of those paths); nothing else changes
// which path is taken.

/** Which private fields this Node has, as the tracker uses them. */
export interface Internals {
  /**
   * `socket._httpMessage`: the response being written on an HTTP/1 socket (`null` between requests), and
   * `socket.parser` (its `incoming`, the latest request read; `null` once the socket was upgraded). Lets
   * requests cost nothing before the trigger. Fallback: count every response from the start (a listener
   * per request), and see upgraded sockets through the server's `upgrade`/`connect` events.
   */
  httpMessage: boolean
  /**
   * `tlsSocket._parent`: the TCP socket under a server-side TLS socket. Fallback: the TCP socket accepted
   * from the same remote address and port.
   */
  tlsParent: boolean
  /**
   * `res._last`, `res._header`, `res._hasBody`: whether Node ends the socket after a response, and whether
   * the client can tell where the response ends. Lets a response already sent with `Connection: close`
   * be followed by the pipelined responses queued behind it. Fallback: nothing (what any server does).
   */
  responseFlags: boolean
}

function detect(): Internals {
  const found = { httpMessage: false, responseFlags: false }
  try {
    const socket = new Socket()
    const res = new ServerResponse(new IncomingMessage(socket)) as NodeResponse
    res.assignSocket(socket)
    const assigned = (socket as NodeSocket)._httpMessage === res
    found.responseFlags = typeof res._last === 'boolean' && typeof res._hasBody === 'boolean' && res._header === null
    res.detachSocket(socket)
    socket.destroy()
    found.httpMessage = assigned && (socket as NodeSocket)._httpMessage === null
  } catch {
    // Leave the fallback.
  }
  // Detected at the first read, by a TLS server's tracker: a TLSSocket builds a secure context, which loads
  // the root certificates (half a megabyte of heap) — not a cost for every service that imports the package.
  let tlsParent: boolean | undefined
  return Object.defineProperty(found, 'tlsParent', {
    enumerable: true,
    get: () => (tlsParent ??= detectTlsParent()),
  }) as Internals
}

function detectTlsParent(): boolean {
  try {
    const raw = new Socket()
    const secure = new TLSSocket(raw, { isServer: true })
    const found = (secure as NodeSocket)._parent === raw
    secure.destroy()
    raw.destroy()
    return found
  } catch {
    return false
  }
}

const DETECTED = detect()
const NONE: Internals = { httpMessage: false, tlsParent: false, responseFlags: false }
let forced = false

/** What this Node has (or nothing, while `fallbackForTests(true)` is in force). Read once per tracker. */
export function internals(): Internals {
  return forced ? NONE : DETECTED
}

/** @internal Forces every fallback for trackers created from now on (tests of the fallback paths). */
export function fallbackForTests(on: boolean): void {
  forced = on
}

/** The private fields of an HTTP/1 or TLS socket. */
interface NodeSocket extends Socket {
  _httpMessage?: ServerResponse | null
  parser?: { incoming?: unknown } | null
  _parent?: Socket | null
}

/** The private fields of a response that decide whether the socket outlives it. */
interface NodeResponse extends ServerResponse {
  _last?: boolean
  _header?: string | null
  _hasBody?: boolean
}

/** The response being written on an HTTP/1 socket; `undefined` between requests. Needs `httpMessage`. */
export function responseOn(socket: Socket): ServerResponse | undefined {
  return (socket as NodeSocket)._httpMessage ?? undefined
}

/**
 * Whether a request was read on `socket` after the one `res` answers (a pipelining client), by the
 * socket's parser. `true` when this socket has no parser to ask: then the caller leaves the in-flight
 * response alone, which never drops a request. Needs `httpMessage`.
 */
export function readBehind(socket: Socket, res: ServerResponse): boolean {
  const parser = (socket as NodeSocket).parser
  if (parser === undefined) return true
  const incoming = parser?.incoming
  return incoming !== undefined && incoming !== null && incoming !== res.req
}

/** Whether Node freed the socket's parser although it is open: handed over by an upgrade or CONNECT. */
export function parserFreed(socket: Socket): boolean {
  return (socket as NodeSocket).parser === null && !socket.destroyed
}

/** The TCP socket under a server-side TLS socket. Needs `tlsParent`. */
export function tlsParentOf(socket: object): Socket | undefined {
  return (socket as NodeSocket)._parent ?? undefined
}

/**
 * Lets Node write the responses queued behind `res` although `res`'s headers, already sent, asked to
 * close: possible only when the client can tell where `res` ends (no body, a Content-Length, or chunked).
 * Needs `responseFlags`; returns whether it could.
 */
export function keepAfterSent(res: ServerResponse): boolean {
  const r = res as NodeResponse
  if (r.req.httpVersionMajor !== 1 || r.req.httpVersionMinor !== 1) return false
  const header = r._header
  const framed =
    r._hasBody === false ||
    (typeof header === 'string' && /\r\n(?:content-length:|transfer-encoding:[^\r]*chunked)/i.test(header))
  if (framed) r._last = false
  return framed
}

/**
 * The header block Node wrote for `res` (`res._header`), or `undefined`: headers given to `writeHead(status,
 * headers)` are not readable through `getHeader()` unless set with `setHeader()` first. Needs `responseFlags`.
 */
export function headerBlock(res: ServerResponse): string | undefined {
  const header = (res as NodeResponse)._header
  return typeof header === 'string' ? header : undefined
}
