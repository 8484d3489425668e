import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import { describeValue, InvalidOptionError } from '@lameduck/core'
import { shared } from '@lameduck/core/adapter'

// Connections the drain must leave alone: the one carrying the preStop /shutdown request, whose response
// is the report and must reach the kubelet. Shared by every server, every probe handler — and every copy
// of this package in the process: probes of the CommonJS build protect a connection from the drain of the
// ESM one.
const protectedConnections = shared('http:protected-connections', () => new WeakSet<object>())

/** Keeps the drain from ending or force-closing the connection that carries `req`. */
export function protectConnection(req: IncomingMessage | Http2ServerRequest): void {
  if (req === null || typeof req !== 'object' || !('socket' in req))
    throw new InvalidOptionError(
      'req argument of protectConnection',
      `expected the request (IncomingMessage or Http2ServerRequest) whose connection to keep; got ${describeValue(req)}`,
    )
  const socket = req.socket as object | null
  if (socket) protectedConnections.add(socket)
  const stream = (req as Http2ServerRequest).stream
  if (stream?.session) protectedConnections.add(stream.session)
}

export function isProtected(connection: object): boolean {
  return protectedConnections.has(connection)
}
