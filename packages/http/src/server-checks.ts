import type { Server as HttpServer } from 'node:http'
import type { Shutdown } from '@lameduck/core'
import { HTTP_DEFAULTS } from './defaults.js'

/**
 * Warns about server timeouts that drop requests behind a load balancer: a keep-alive timeout shorter
 * than the balancer's idle timeout closes connections the balancer is about to reuse.
 */
export function checkServerTimeouts(shutdown: Shutdown, server: HttpServer, name: string): void {
  const { keepAliveTimeout, headersTimeout } = server
  if (typeof keepAliveTimeout !== 'number') return // HTTP/2: no keep-alive timeout
  const min = HTTP_DEFAULTS.minKeepAliveTimeoutMs
  if (keepAliveTimeout > 0 && keepAliveTimeout < min)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_KEEPALIVE_TIMEOUT',
      message:
        `${name}: server.keepAliveTimeout is ${keepAliveTimeout} ms, below the common load-balancer idle timeout ` +
        `(${min / 1000} s): the server may close a connection just as the balancer reuses it. ` +
        `Fix: server.keepAliveTimeout = ${HTTP_DEFAULTS.keepAliveTimeoutMs}; server.headersTimeout = ${HTTP_DEFAULTS.headersTimeoutMs}`,
      details: { keepAliveTimeout, headersTimeout },
    })
  if (typeof headersTimeout === 'number' && headersTimeout > 0 && headersTimeout <= keepAliveTimeout)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_HEADERS_TIMEOUT',
      message:
        `${name}: server.headersTimeout (${headersTimeout} ms) must be greater than keepAliveTimeout ` +
        `(${keepAliveTimeout} ms), or a request arriving on an idle connection can be cut. ` +
        `Fix: server.headersTimeout = ${keepAliveTimeout + HTTP_DEFAULTS.headersTimeoutMarginMs}`,
      details: { keepAliveTimeout, headersTimeout },
    })
}
