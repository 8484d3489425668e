import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { register as defaultRegistry, type Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'

/** A request `metricsHandler` accepts: `node:http` or `node:http2` (compat API). */
export type Req = IncomingMessage | Http2ServerRequest
/** A response `metricsHandler` answers on. */
export type Res = ServerResponse | Http2ServerResponse

export interface MetricsHandlerOptions {
  /** Default: prom-client's global registry. */
  registry?: Registry
  /** Default: `/metrics`. */
  path?: string
}

/**
 * `GET /metrics` as a framework-free `(req, res) => boolean` — for `listenAdmin(shutdown, { handlers: [...] })`
 * or any node:http server. It keeps answering during the whole shutdown.
 */
export function metricsHandler(options: MetricsHandlerOptions = {}): (req: Req, res: Res) => boolean {
  const registry = options.registry ?? defaultRegistry
  const path = options.path ?? PROMETHEUS_DEFAULTS.metricsPath
  return (req, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    if ((q === -1 ? url : url.slice(0, q)) !== path) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405
      res.setHeader('allow', 'GET, HEAD')
      ;(res as ServerResponse).end()
      return true
    }
    registry.metrics().then(
      (body) => {
        res.setHeader('content-type', registry.contentType)
        ;(res as ServerResponse).end(req.method === 'HEAD' ? undefined : body)
      },
      (error: Error) => {
        res.statusCode = 500
        ;(res as ServerResponse).end(`# metrics collection failed: ${error.message}\n`)
      },
    )
    return true
  }
}

/** The same as Express (or Connect) middleware: `app.use(metricsMiddleware())`. */
export function metricsMiddleware(options: MetricsHandlerOptions = {}): (req: Req, res: Res, next: () => void) => void {
  const handle = metricsHandler(options)
  return (req, res, next) => {
    if (!handle(req, res)) next()
  }
}
