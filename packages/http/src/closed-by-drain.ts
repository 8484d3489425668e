import type { Server as HttpServer } from 'node:http'
import { Server as NetServer } from 'node:net'
import { shadow } from '@lameduck/core/adapter'

/**
 * Runs `close` — a framework's own closing (Fastify's `app.close()`, Nest's `app.close()`) — once the drain is
 * over, with the framework's closing of the server and of its connections left out: the drain already
 * stopped accepting and closed every connection but the one carrying `/shutdown`, whose response (the
 * report) is held until the run ends. `server.close(callback)` would wait for that connection — for the very
 * task calling this: a deadlock until its budget runs out — and `closeAllConnections()` (Fastify's
 * `forceCloseConnections`) would cut the report. For the length of the call `server.close()` stops accepting
 * (if the server still does) and calls back at once, and `closeAllConnections()` / `closeIdleConnections()`
 * do nothing; everything else the framework closes (its hooks, plugins) runs as usual. The members are
 * shadowed with `Object.defineProperty` (which also passes through proxies without a `defineProperty` trap,
 * like Nest's) and put back afterwards, whatever `close` does.
 */
export async function closedByDrain<T>(server: HttpServer, close: () => Promise<T> | T): Promise<T> {
  const restore = shadow(server, {
    close(callback?: (error?: Error) => void) {
      if (server.listening) NetServer.prototype.close.call(server)
      if (callback) process.nextTick(callback)
      return server
    },
    closeAllConnections() {},
    closeIdleConnections() {},
  })
  try {
    return await close()
  } finally {
    restore()
  }
}
