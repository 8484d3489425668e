import { createServer, type Server } from 'node:http'
import { InvalidOptionError, type Shutdown } from '@lameduck/core'
import { HTTP_DEFAULTS } from './defaults.js'
import { createProbes, type ProbeHandler, type ProbeOptions } from './probes.js'

export interface AdminOptions extends Omit<ProbeOptions, 'requireToken'> {
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
  if (!options || !Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new InvalidOptionError('port', `expected a port number, got ${String(options?.port)}`)
  const probes = createProbes(shutdown, { ...options, requireToken: false })
  const env = options.env ?? process.env
  if (options.token === undefined && env[HTTP_DEFAULTS.tokenEnv] === undefined && options.paths?.shutdown !== false)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_ADMIN_NO_TOKEN',
      message:
        'the admin server serves /shutdown without a token: anyone who can reach the pod on the admin port ' +
        'can stop it. Set LAMEDUCK_SHUTDOWN_TOKEN or restrict the port with a NetworkPolicy (docs/security.md).',
    })
  const handlers = [probes, ...(options.handlers ?? [])]
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
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    server,
    port: (server.address() as { port: number }).port,
    async close() {
      removeClose()
      await closeServer(server)
    },
  }
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
