import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { InvalidOptionError, type Shutdown, type ShutdownReport } from '@lameduck/core'
import { createTokenCheck } from './auth.js'
import { HTTP_DEFAULTS } from './defaults.js'
import { ShutdownTokenRequiredError } from './errors.js'
import { protectConnection } from './protect.js'

export type Request = IncomingMessage | Http2ServerRequest
export type Response = ServerResponse | Http2ServerResponse

/** A framework-free handler: answers and returns `true` for its routes, returns `false` for the rest. */
export type ProbeHandler = (req: Request, res: Response) => boolean

export interface ProbeOptions {
  /** Route paths. Default: `{ liveness: '/healthz', readiness: '/readyz', shutdown: '/shutdown' }`; `shutdown: false` leaves it out. */
  paths?: { liveness?: string; readiness?: string; shutdown?: string | false }
  /** Bearer token for `/shutdown`. Default: env `LAMEDUCK_SHUTDOWN_TOKEN`. */
  token?: string
  /**
   * Whether `/shutdown` may be served without a token. Default: `false` — without a token, creating the
   * handler throws `ShutdownTokenRequiredError`.
   */
  insecure?: boolean
  /** Extra liveness check; the probe answers 503 when it returns or resolves to false. */
  liveness?: () => boolean | Promise<boolean>
  /** Extra readiness check, on top of "not shutting down". */
  readiness?: () => boolean | Promise<boolean>
  /** Where `LAMEDUCK_SHUTDOWN_TOKEN` is read. Default: `process.env`. */
  env?: Record<string, string | undefined>
  /** @internal listenAdmin: a missing token is a warning there, not an error. */
  requireToken?: boolean
}

/**
 * Creates the probe routes:
 * - `GET|HEAD /healthz` — liveness: 200 while the process runs, through the whole shutdown.
 * - `GET|HEAD /readyz` — readiness: 200 until the first trigger, then 503.
 * - `GET|POST /shutdown` — the preStop hook's target: starts (or joins) the shutdown, holds the response
 *   until the report is final, answers 200 with the report (500 when a critical task failed), and lets
 *   the process exit once the response is flushed. Requires `Authorization: Bearer <token>`.
 */
export function createProbes(shutdown: Shutdown, options: ProbeOptions = {}): ProbeHandler {
  const paths = { ...HTTP_DEFAULTS.paths, ...options.paths }
  for (const [key, value] of Object.entries(paths))
    if (value !== false && (typeof value !== 'string' || !value.startsWith('/')))
      throw new InvalidOptionError(`paths.${key}`, `expected a path starting with "/", got ${String(value)}`)
  const env = options.env ?? process.env
  const token = options.token ?? env[HTTP_DEFAULTS.tokenEnv]
  if (token !== undefined && (typeof token !== 'string' || token.length === 0 || /[^\x21-\x7e]/.test(token)))
    throw new InvalidOptionError('token', 'expected a non-empty string of visible ASCII characters')
  if (paths.shutdown !== false && token === undefined && !options.insecure && options.requireToken !== false)
    throw new ShutdownTokenRequiredError()
  if (token !== undefined && token.length < 16)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_SHORT_TOKEN',
      message: `the /shutdown token has ${token.length} characters; use at least 16 random ones (e.g. openssl rand -hex 24)`,
    })
  const authorized = token === undefined ? () => true : createTokenCheck(token)

  return (req, res) => {
    const path = pathOf(req.url)
    if (path === paths.liveness) {
      if (!allow(req, res, ['GET', 'HEAD'])) return true
      void check(options.liveness).then((ok) => send(req, res, ok ? 200 : 503, { status: ok ? 'ok' : 'failing' }))
      return true
    }
    if (path === paths.readiness) {
      if (!allow(req, res, ['GET', 'HEAD'])) return true
      const state = shutdown.state
      if (!shutdown.isReady()) {
        send(req, res, 503, { status: state })
        return true
      }
      void check(options.readiness).then((ok) =>
        send(req, res, ok ? 200 : 503, { status: ok ? 'ready' : 'not-ready', state }),
      )
      return true
    }
    if (paths.shutdown !== false && path === paths.shutdown) {
      if (!allow(req, res, ['GET', 'POST'])) return true
      if (!authorized(req.headers)) {
        res.setHeader('www-authenticate', 'Bearer realm="lameduck"')
        send(req, res, 401, { error: 'unauthorized' })
        return true
      }
      triggerShutdown(shutdown, req, res)
      return true
    }
    return false
  }
}

function triggerShutdown(shutdown: Shutdown, req: Request, res: Response): void {
  // The exit waits for this response (never past the deadline), and the drain leaves its connection open.
  const release = shutdown.holdExit()
  protectConnection(req)
  res.once('close', release)
  req.resume()
  if (req.httpVersionMajor < 2) res.setHeader('connection', 'close')
  void shutdown
    .shutdown(`${req.method} ${pathOf(req.url)}`, { trigger: 'http' })
    .then((report: ShutdownReport) => send(req, res, report.exitCode === 0 ? 200 : 500, report))
}

function allow(req: Request, res: Response, methods: string[]): boolean {
  if (methods.includes(req.method ?? '')) return true
  res.setHeader('allow', methods.join(', '))
  send(req, res, 405, { error: 'method not allowed' })
  return false
}

function send(req: Request, res: Response, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded) return
  const json = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-length', Buffer.byteLength(json))
  ;(res as ServerResponse).end(req.method === 'HEAD' ? undefined : json)
}

async function check(fn: (() => boolean | Promise<boolean>) | undefined): Promise<boolean> {
  if (!fn) return true
  try {
    return (await fn()) !== false
  } catch {
    return false
  }
}

function pathOf(url: string | undefined): string {
  if (!url) return '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
