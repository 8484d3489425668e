import { Server as NetServer } from 'node:net'
import { InvalidOptionError } from '@lameduck/core'
import { describeArgument } from '@lameduck/core/adapter'
import type { AnyServer } from './tracker.js'

// The one argument check of this package's own; every other check is the adapter kit's, so that one
// mistake gives one error code in every adapter.

/**
 * The server argument: a `node:http`, `node:https` or `node:http2` server (every one is a `net.Server`). An
 * Express or Koa app has a `listen()` too, but is not the server: draining it would drain nothing.
 */
export function requireServer(where: string, value: unknown): AnyServer {
  if (value instanceof NetServer) return value
  const inner = (value as { server?: unknown } | null)?.server
  const listens =
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { listen?: unknown }).listen === 'function'
  const hint = listens
    ? ': pass the http.Server that app.listen() returns, or the one from http.createServer(app) — ' +
      'const server = http.createServer(app); drainHttpServer(shutdown, server); server.listen(port)'
    : inner instanceof NetServer
      ? ` — did you mean its .server (e.g. fastify.server)?`
      : ''
  throw new InvalidOptionError(
    `server argument of ${where}`,
    `expected a node:http, node:https or node:http2 server; got ${describeArgument(value)}${hint}`,
  )
}
