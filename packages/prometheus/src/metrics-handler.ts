import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { describeValue, InvalidOptionError } from '@lameduck/core'
import { checkOptions, orDefault } from '@lameduck/core/adapter'
import type { Registry } from 'prom-client'
import { PROMETHEUS_DEFAULTS } from './defaults.js'
import { registryOption } from './registry.js'

/** A request `metricsHandler` accepts: `node:http` or `node:http2` (compat API). */
export type Req = IncomingMessage | Http2ServerRequest
/** A response `metricsHandler` answers on. */
export type Res = ServerResponse | Http2ServerResponse

export interface MetricsHandlerOptions {
  /** The registry served. Default: prom-client's global registry. */
  registry?: Registry
  /** The path answered on (any query string is ignored). Default: {@link PROMETHEUS_DEFAULTS}`.metricsPath`. */
  path?: string
}

/**
 * `GET /metrics` as a framework-free `(req, res) => boolean` — for `listenAdmin(shutdown, { handlers: [...] })`
 * or any node:http server. It keeps answering during the whole shutdown.
 */
export function metricsHandler(options: MetricsHandlerOptions = {}): (req: Req, res: Res) => boolean {
  return handler('metricsHandler', options)
}

export const HANDLER_OPTIONS: readonly (keyof MetricsHandlerOptions)[] = ['registry', 'path']

function handler(where: string, options: MetricsHandlerOptions): (req: Req, res: Res) => boolean {
  checkOptions(where, options, HANDLER_OPTIONS)
  const registry = registryOption(where, options.registry)
  const path = orDefault(options.path, PROMETHEUS_DEFAULTS.metricsPath)
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('?'))
    throw new InvalidOptionError(
      `path of ${where}`,
      `expected a path starting with "/", without a query; got ${describeValue(path)}`,
    )
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
  const handle = handler('metricsMiddleware', options)
  return (req, res, next) => {
    if (!handle(req, res)) next()
  }
}
