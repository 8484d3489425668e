import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidOptionError, type Shutdown } from '@lameduck/core'
import { describeArgument } from '@lameduck/core/adapter'
import { createProbesFor, type ProbeOptions } from '@lameduck/http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'

/** The options of `createProbes` in `@lameduck/http`; their defaults are `HTTP_DEFAULTS.probes` there. */
export type LameduckMiddlewareOptions = ProbeOptions

/**
 * Express middleware serving `/healthz`, `/readyz` and the preStop `/shutdown` endpoint on the
 * application's port. `/shutdown` needs a token here (`token` or the environment variable
 * `HTTP_DEFAULTS.probes.tokenEnv`): without one it throws `ShutdownTokenRequiredError` unless
 * `insecure: true`. Mount it first:
 *
 * ```ts
 * app.use(lameduck(shutdown, { token: process.env.LAMEDUCK_SHUTDOWN_TOKEN }))
 * ```
 *
 * Paths are relative to where it is mounted (`app.use('/ops', lameduck(shutdown))` serves `/ops/readyz`).
 * Works with Express 4 and 5. Wrong arguments (not a coordinator, an unknown option, a wrong type) throw at
 * once, naming `lameduck` and what was passed. It registers no task: the server's drain is
 * `drainHttpServer`'s (`@lameduck/http`).
 */
export function lameduck(shutdown: Shutdown, options?: LameduckMiddlewareOptions): RequestHandler {
  // `app.use(lameduck)`: Express calls it with (req, res, next) on every request.
  if (isRequest(shutdown))
    throw new InvalidOptionError(
      'shutdown argument of lameduck',
      'got an HTTP request: lameduck(shutdown, options) returns the middleware — mount ' +
        'app.use(lameduck(shutdown, { token })), not app.use(lameduck)',
    )
  const probes = createProbesFor('lameduck', shutdown, options)
  return function lameduckProbes(req: Request, res: Response, next: NextFunction) {
    if (!probes(req, res)) next()
  }
}

/** An Express application (or any `(req, res)` request listener) that `withLameduck` puts the probes in front of. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * The probes in front of the application, for `createServer()`: `/healthz`, `/readyz` and `/shutdown` are
 * answered before Express's router runs, and every other request goes to `app` untouched — no middleware
 * layer, so nothing per request in Express (the middleware costs what any `app.use` layer costs: about 2 %
 * of a hello-world app's requests/s). Same options as {@link lameduck}; paths are the server's own.
 *
 * ```ts
 * const server = createServer(withLameduck(shutdown, app, { token: process.env.LAMEDUCK_SHUTDOWN_TOKEN }))
 * ```
 */
export function withLameduck(
  shutdown: Shutdown,
  app: RequestListener,
  options?: LameduckMiddlewareOptions,
): RequestListener {
  if (typeof app !== 'function')
    throw new InvalidOptionError(
      'app argument of withLameduck',
      `expected the Express application (a function); got ${describeArgument(app)} — ` +
        'withLameduck(shutdown, app, options?)',
    )
  const probes = createProbesFor('withLameduck', shutdown, options)
  return function lameduckInFront(req: IncomingMessage, res: ServerResponse) {
    if (!probes(req, res)) app(req, res)
  }
}

function isRequest(value: unknown): value is IncomingMessage {
  const v = value as Partial<IncomingMessage> | null
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.method === 'string' &&
    typeof v.url === 'string' &&
    typeof v.headers === 'object'
  )
}
