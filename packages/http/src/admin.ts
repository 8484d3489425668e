import { createServer, type Server } from 'node:http'
import { describeValue, InvalidOptionError, type Registration, type Shutdown } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  count,
  nonEmptyString,
  registerTask,
  requireShutdown,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from './defaults.js'
import { PROBE_OPTIONS, type ProbeHandler, type ProbeOptions, probeHandler } from './probes.js'

export interface AdminOptions extends ProbeOptions, AdapterTaskOptions {
  /** Port; 0 picks a free one. Required. */
  port: number
  /** Address to listen on. Default: all interfaces (the kubelet calls the pod IP). */
  host?: string
  /** More routes, tried after the probes (e.g. `/metrics`). */
  handlers?: ProbeHandler[]
  /**
   * Name of the task that closes the server. Default: {@link HTTP_DEFAULTS}`.admin.name`, numbered for
   * further admin servers; a name you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** When the server closes. Default: {@link HTTP_DEFAULTS}`.admin.phase` — it answers probes until then. */
  phase?: AdapterTaskOptions['phase']
  /** Budget of the close. Default: {@link HTTP_DEFAULTS}`.admin.timeoutMs`. */
  timeoutMs?: number
  /** Whether a failed close makes the exit code non-zero. Default: {@link HTTP_DEFAULTS}`.admin.critical`. */
  critical?: boolean
}

/**
 * What `listenAdmin` resolves to: the {@link Registration} of its close task — `name`, `remove()` (the task
 * is unregistered and the server left open, for you to close), `[Symbol.dispose]` — and the server.
 */
export interface AdminServer extends Registration {
  readonly server: Server
  /** The port it listens on. */
  readonly port: number
  /** Closes it now and unregisters its close task (normally it closes itself last, in the `report` phase). */
  close(): Promise<void>
}

/** Every key `AdminOptions` has, for JavaScript callers' typos. */
export const ADMIN_OPTIONS = [...PROBE_OPTIONS, ...TASK_OPTION_KEYS, 'port', 'host', 'handlers'] as const

const WHERE = 'listenAdmin'

/**
 * Starts a small admin server with the probe routes (and `handlers`), separate from the application's
 * port. It keeps answering through the whole shutdown and is closed last, in the `report` phase. A
 * token for `/shutdown` is optional here — a warning says so when there is none. The close task is
 * registered once the server listens: a `listen` that fails (`EADDRINUSE`) registers nothing, and can be
 * retried.
 */
export async function listenAdmin(shutdown: Shutdown, options: AdminOptions): Promise<AdminServer> {
  requireShutdown(WHERE, shutdown, 'listenAdmin(shutdown, { port })')
  if (options === undefined)
    throw new InvalidOptionError('port of listenAdmin', 'required: listenAdmin(shutdown, { port }); got no options')
  checkOptions(WHERE, options, ADMIN_OPTIONS)
  const port = requirePort(options.port)
  const host = options.host === undefined ? undefined : nonEmptyString(`host of ${WHERE}`, options.host)
  const extra = requireHandlers(options.handlers)
  const task = taskOptions(WHERE, options, HTTP_DEFAULTS.admin)
  const probes = probeHandler(WHERE, shutdown, options, false)
  const env = options.env ?? process.env
  const noToken =
    options.token === undefined && env[HTTP_DEFAULTS.probes.tokenEnv] === undefined && options.paths?.shutdown !== false
  const handlers = [probes, ...extra]
  const server = createServer((req, res) => {
    for (const handler of handlers) if (handler(req, res)) return
    res.statusCode = 404
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.end('{"error":"not found"}')
  })
  server.keepAliveTimeout = HTTP_DEFAULTS.keepAliveTimeoutMs
  server.headersTimeout = HTTP_DEFAULTS.headersTimeoutMs
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // The admin server answers probes through the whole run, and closes only in the very last phase.
  let registration: Registration
  try {
    registration = registerTask(shutdown, {
      where: WHERE,
      task,
      resource: server,
      resourceLabel: 'this server',
      run: () => closeServer(server),
    })
  } catch (error) {
    // E.g. the report phase has begun: nothing would close the server.
    await closeServer(server)
    throw error
  }
  if (noToken)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_ADMIN_NO_TOKEN',
      message:
        'the admin server serves /shutdown without a token: anyone who can reach the pod on the admin port ' +
        `can stop it. Set ${HTTP_DEFAULTS.probes.tokenEnv} or restrict the port with a NetworkPolicy (docs/security.md).`,
    })
  return {
    name: registration.name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    server,
    port: (server.address() as { port: number }).port,
    async close() {
      registration.remove()
      await closeServer(server)
    },
  }
}

function requirePort(port: unknown): number {
  if (typeof port === 'string' && /^\d+$/.test(port.trim()))
    throw new InvalidOptionError(
      `port of ${WHERE}`,
      `expected a port number from 0 to 65535 (0 picks a free one); got ${describeValue(port)}` +
        ` — a string: pass Number(${JSON.stringify(port)}), e.g. Number(process.env.ADMIN_PORT)`,
    )
  return count(`port of ${WHERE}`, port, undefined, { min: 0, max: 65535 })
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

/**
 * Closes the server: idle probe connections go at once, the /shutdown connection ends with its response.
 * Resolves once closed or on the next turn of the event loop, whichever comes first — not a budget
 * decision: the task's budget bounds the run, and the exit waits for the /shutdown response.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeIdleConnections()
    setImmediate(resolve)
  })
}
