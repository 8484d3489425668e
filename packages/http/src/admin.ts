import { createServer, type Server } from 'node:http'
import { checkOptions, describeValue, InvalidOptionError, type Shutdown } from '@lameduck/core'
import { HTTP_DEFAULTS } from './defaults.js'
import { PROBE_OPTIONS, type ProbeHandler, type ProbeOptions, probeHandler } from './probes.js'
import { nonEmptyString, requireShutdown } from './validate.js'

export interface AdminOptions extends ProbeOptions {
  /** Port; 0 picks a free one. Required. */
  port: number
  /** Address to listen on. Default: all interfaces (the kubelet calls the pod IP). */
  host?: string
  /** More routes, tried after the probes (e.g. `/metrics`). */
  handlers?: ProbeHandler[]
}

export interface AdminServer {
  server: Server
  /** The port it listens on. */
  port: number
  /** Closes it now (normally it closes itself last, in the `report` phase). */
  close(): Promise<void>
}

/**
 * Starts a small admin server with the probe routes (and `handlers`), separate from the application's
 * port. It keeps answering through the whole shutdown and is closed last, in the `report` phase. A
 * token for `/shutdown` is optional here — a warning says so when there is none.
 */
export async function listenAdmin(shutdown: Shutdown, options: AdminOptions): Promise<AdminServer> {
  requireShutdown('listenAdmin', shutdown, '{ port }')
  if (options === undefined)
    throw new InvalidOptionError('port of listenAdmin', 'required: listenAdmin(shutdown, { port }); got no options')
  checkOptions('listenAdmin', options, ADMIN_OPTIONS)
  const port = requirePort(options.port)
  const host = options.host === undefined ? undefined : nonEmptyString('host of listenAdmin', options.host)
  const extra = requireHandlers(options.handlers)
  const probes = probeHandler('listenAdmin', shutdown, options, false)
  const env = options.env ?? process.env
  if (options.token === undefined && env[HTTP_DEFAULTS.tokenEnv] === undefined && options.paths?.shutdown !== false)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_ADMIN_NO_TOKEN',
      message:
        'the admin server serves /shutdown without a token: anyone who can reach the pod on the admin port ' +
        'can stop it. Set LAMEDUCK_SHUTDOWN_TOKEN or restrict the port with a NetworkPolicy (docs/security.md).',
    })
  const handlers = [probes, ...extra]
  const server = createServer((req, res) => {
    for (const handler of handlers) if (handler(req, res)) return
    res.statusCode = 404
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.end('{"error":"not found"}')
  })
  server.keepAliveTimeout = HTTP_DEFAULTS.minKeepAliveTimeoutMs + 5000
  server.headersTimeout = HTTP_DEFAULTS.minKeepAliveTimeoutMs + 6000
  // The admin server answers probes through the whole run, and closes only in the very last phase.
  const removeClose = shutdown.addTask({
    name: 'admin-server-close',
    phase: 'report',
    critical: false,
    timeoutMs: HTTP_DEFAULTS.adminCloseTimeoutMs,
    run: () => closeServer(server),
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    server,
    port: (server.address() as { port: number }).port,
    async close() {
      removeClose.remove()
      await closeServer(server)
    },
  }
}

/** Every key `AdminOptions` has, for JavaScript callers' typos. */
export const ADMIN_OPTIONS = [...PROBE_OPTIONS, 'port', 'host', 'handlers'] as const

function requirePort(port: unknown): number {
  if (typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535) return port
  const fromString = typeof port === 'string' && /^\d+$/.test(port.trim())
  throw new InvalidOptionError(
    'port of listenAdmin',
    `expected a port number from 0 to 65535 (0 picks a free one); got ${describeValue(port)}` +
      (fromString ? ` — a string: pass Number(${JSON.stringify(port)}), e.g. Number(process.env.ADMIN_PORT)` : ''),
  )
}

function requireHandlers(handlers: unknown): ProbeHandler[] {
  if (handlers === undefined) return []
  if (!Array.isArray(handlers))
    throw new InvalidOptionError(
      'handlers of listenAdmin',
      `expected an array of (req, res) => boolean functions; got ${describeValue(handlers)}`,
    )
  handlers.forEach((handler, i) => {
    if (typeof handler !== 'function')
      throw new InvalidOptionError(
        `handlers[${i}] of listenAdmin`,
        `expected a (req, res) => boolean function; got ${describeValue(handler)}`,
      )
  })
  return handlers
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    // Idle probe connections go at once; the /shutdown connection ends with its response.
    server.close(() => resolve())
    server.closeIdleConnections()
    setImmediate(resolve)
  })
}
