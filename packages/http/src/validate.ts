import { Server as NetServer } from 'node:net'
import { describeValue, InvalidOptionError, isShutdown, type Shutdown } from '@lameduck/core'
import type { AnyServer } from './tracker.js'

// One definition for every package, in core.
export { boolean, orDefault } from '@lameduck/core'

// Validation for JavaScript callers, who get no type check. The rules are core's: `undefined` means "use the
// default" and nothing else does (`null` is refused like any other wrong type), a wrong duration is
// LAMEDUCK_ERR_INVALID_DURATION, a wrong type or impossible value LAMEDUCK_ERR_INVALID_OPTION, and every
// message names the option, the function it was given to and what was passed.

export function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new InvalidOptionError(option, `expected a non-empty string; got ${describeValue(value)}`)
  return value
}

/** `undefined`, or a function. */
export function optionalFunction<T>(option: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new InvalidOptionError(option, `expected a function; got ${describeValue(value)}`)
  return value
}

/** `undefined`, or a plain object (an environment, a map of paths). */
export function optionalObject<T>(option: string, value: T | undefined): T | undefined {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw new InvalidOptionError(option, `expected an object; got ${describeValue(value)}`)
  return value
}

/**
 * The coordinator argument: what `createShutdown()` returns. Checked by shape (a copy of core from another
 * install is as good), on the members this package uses.
 */
export function requireShutdown(where: string, value: unknown, second = 'options?'): Shutdown {
  if (!isShutdown(value))
    throw new InvalidOptionError(
      `shutdown argument of ${where}`,
      `expected the coordinator createShutdown() returns; got ${describeArgument(value)}` +
        (value instanceof NetServer || isApp(value)
          ? ` (the coordinator comes first: ${where}(shutdown, ${second}))`
          : ''),
    )
  return value
}

/**
 * The server argument: a `node:http`, `node:https` or `node:http2` server (every one is a `net.Server`). An
 * Express or Koa app has a `listen()` too, but is not the server: draining it would drain nothing.
 */
export function requireServer(where: string, value: unknown): AnyServer {
  if (value instanceof NetServer) return value
  const inner = (value as { server?: unknown } | null)?.server
  const hint = isApp(value)
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

/** An application object with a `listen()` of its own: Express (a function), Koa, Connect. */
function isApp(value: unknown): boolean {
  return (
    (typeof value === 'function' || (typeof value === 'object' && value !== null)) &&
    !(value instanceof NetServer) &&
    typeof (value as { listen?: unknown }).listen === 'function'
  )
}

/** `describeValue`, but naming the objects a caller is likely to pass by mistake (their class names say little). */
export function describeArgument(value: unknown): string {
  if (typeof value === 'function' && isApp(value)) return 'a function with a listen() method (an Express app?)'
  const v = value as Record<string, unknown> | null
  if (v !== null && typeof v === 'object') {
    if (isApp(v)) return `${describeValue(v)} with a listen() method (an application, not its server)`
    if (typeof v.addTask === 'function' && typeof v.shutdown === 'function') return 'a lameduck coordinator'
    if (typeof v.method === 'string' && typeof v.url === 'string' && typeof v.headers === 'object')
      return 'an HTTP request'
  }
  return describeValue(value)
}
