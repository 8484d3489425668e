import { lstatSync, type Stats, unlinkSync } from 'node:fs'
import { lstat, unlink } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { isAbsolute } from 'node:path'
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
import { NotASocketError } from './errors.js'
import { PROBE_OPTIONS, type ProbeHandler, type ProbeOptions, probeHandler } from './probes.js'

/** The options of every admin server, wherever it listens. */
interface AdminCommonOptions extends ProbeOptions, AdapterTaskOptions {
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

/** An admin server on a TCP port. */
export interface AdminPortOptions extends AdminCommonOptions {
  /** Port; 0 picks a free one. Required (or `socketPath` instead). */
  port: number
  /**
   * Address to listen on. Default: all interfaces (the kubelet's `httpGet` probes and hooks call the pod
   * IP). `'127.0.0.1'` keeps it off the pod IP: only the pod's own containers reach it (an `exec` hook).
   */
  host?: string
  socketPath?: undefined
}

/**
 * An admin server on a Unix socket: reachable only by processes that can open the file — the container's
 * own (an `exec` preStop hook: `lameduck-prestop --socket`), never the pod IP nor another pod.
 */
export interface AdminSocketOptions extends AdminCommonOptions {
  /**
   * Absolute path of the socket. A socket nobody listens on any more (left by a killed process) is removed
   * first; anything else at the path is refused with `NotASocketError`; the file goes when the server closes.
   */
  socketPath: string
  port?: undefined
  host?: undefined
}

/** `listenAdmin`'s options: a `port` (and `host`), or a `socketPath`. */
export type AdminOptions = AdminPortOptions | AdminSocketOptions

/** What every admin server has. */
interface AdminServerBase extends Registration {
  readonly server: Server
  /** Closes it now and unregisters its close task (normally it closes itself last, in the `report` phase). */
  close(): Promise<void>
}

/**
 * What `listenAdmin({ port })` resolves to: the {@link Registration} of its close task — `name`, `remove()`
 * (the task is unregistered and the server left open, for you to close), `[Symbol.dispose]` — and the server.
 */
export interface AdminServer extends AdminServerBase {
  /** The port it listens on. */
  readonly port: number
}

/** What `listenAdmin({ socketPath })` resolves to: as {@link AdminServer}, with the socket's path for the port. */
export interface AdminSocketServer extends AdminServerBase {
  /** The path of the socket it listens on. */
  readonly socketPath: string
}

/** Every key `AdminOptions` has, for JavaScript callers' typos. */
export const ADMIN_OPTIONS = [...PROBE_OPTIONS, ...TASK_OPTION_KEYS, 'port', 'host', 'socketPath', 'handlers'] as const

const WHERE = 'listenAdmin'

/**
 * Starts a small admin server with the probe routes (and `handlers`), separate from the application's
 * port: on a TCP `port` (all interfaces, or `host`), or on a Unix socket (`socketPath`). It keeps answering
 * through the whole shutdown and is closed last, in the `report` phase. A token for `/shutdown` is optional
 * here — on a port, a warning says so when there is none. The close task is registered once the server
 * listens: a `listen` that fails (`EADDRINUSE`) registers nothing, and can be retried.
 */
export function listenAdmin(shutdown: Shutdown, options: AdminSocketOptions): Promise<AdminSocketServer>
export function listenAdmin(shutdown: Shutdown, options: AdminPortOptions): Promise<AdminServer>
export function listenAdmin(shutdown: Shutdown, options: AdminOptions): Promise<AdminServer | AdminSocketServer>
export async function listenAdmin(shutdown: Shutdown, options: AdminOptions): Promise<AdminServer | AdminSocketServer> {
  requireShutdown(WHERE, shutdown, 'listenAdmin(shutdown, { port })')
  if (options === undefined)
    throw new InvalidOptionError(
      'port of listenAdmin',
      'required: listenAdmin(shutdown, { port }) or listenAdmin(shutdown, { socketPath }); got no options',
    )
  checkOptions(WHERE, options, ADMIN_OPTIONS)
  const address = requireAddress(options)
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
  if ('socketPath' in address) await removeStaleSocket(address.socketPath)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    const listening = () => {
      server.off('error', reject)
      resolve()
    }
    if ('socketPath' in address) server.listen(address.socketPath, listening)
    else server.listen(address.port, address.host, listening)
  })
  if ('socketPath' in address) removeOnExit(server, address.socketPath)
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
  // On a socket, only processes that can open the file reach /shutdown: no token is no warning.
  if (noToken && 'port' in address)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_ADMIN_NO_TOKEN',
      message: isLoopback(address.host)
        ? `the admin server serves /shutdown without a token on ${address.host}: every container of the pod ` +
          `(sidecars included) can stop it. Set ${HTTP_DEFAULTS.probes.tokenEnv}, or listen on a Unix socket ` +
          '({ socketPath }) that only this container opens (docs/security.md).'
        : 'the admin server serves /shutdown without a token: anyone who can reach the pod on the admin port ' +
          `can stop it. Set ${HTTP_DEFAULTS.probes.tokenEnv} or restrict the port with a NetworkPolicy (docs/security.md).`,
    })
  const handle = {
    name: registration.name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    server,
    async close() {
      registration.remove()
      await closeServer(server)
    },
  }
  return 'socketPath' in address
    ? { ...handle, socketPath: address.socketPath }
    : { ...handle, port: (server.address() as AddressInfo).port }
}

/**
 * The longest Unix socket path the kernel holds (`sun_path` less its NUL): 107 bytes on Linux, 103 on macOS
 * and the BSDs. Node 20 does not refuse a longer one — it listens on the path cut short, which no client
 * finds and nothing removes (measured), so it is refused here.
 */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103

type Address = { port: number; host: string | undefined } | { socketPath: string }

/** A port (and host), or a socket path: one of them, not both. */
function requireAddress(options: AdminOptions): Address {
  if (options.socketPath === undefined)
    return {
      port: requirePort(options.port),
      host: options.host === undefined ? undefined : nonEmptyString(`host of ${WHERE}`, options.host),
    }
  const path = nonEmptyString(`socketPath of ${WHERE}`, options.socketPath)
  const other = options.port !== undefined ? 'port' : options.host !== undefined ? 'host' : undefined
  if (other !== undefined)
    throw new InvalidOptionError(
      `socketPath of ${WHERE}`,
      `a Unix socket has no ${other}: pass { port, host? } or { socketPath }, not both; got ${other} ` +
        `${describeValue(options[other])} and socketPath ${describeValue(path)}`,
    )
  if (!isAbsolute(path))
    throw new InvalidOptionError(
      `socketPath of ${WHERE}`,
      `expected an absolute path (the preStop hook must find the same file); got ${describeValue(path)}`,
    )
  if (path.includes('\0'))
    throw new InvalidOptionError(`socketPath of ${WHERE}`, 'expected a path without NUL characters')
  const bytes = Buffer.byteLength(path)
  if (bytes > MAX_SOCKET_PATH_BYTES)
    throw new InvalidOptionError(
      `socketPath of ${WHERE}`,
      `${describeValue(path)} is ${bytes} bytes; a Unix socket path holds at most ${MAX_SOCKET_PATH_BYTES} on ` +
        `${process.platform} (Node would listen on the path cut short): choose a shorter one, e.g. /run/lameduck/admin.sock`,
    )
  return { socketPath: path }
}

function isLoopback(host: string | undefined): boolean {
  return host !== undefined && (host === 'localhost' || host === '::1' || /^127\./.test(host))
}

/**
 * Clears the way for a socket at `path`: nothing there, or a socket nobody listens on (its process was
 * killed before it could remove it: SIGKILL, a crash, the watchdog's exit) — removed. A socket something
 * still listens on is left alone, so `listen` fails with `EADDRINUSE`, as for a port in use. Anything else
 * (a file, a directory, a symbolic link, wherever it points) is refused.
 */
async function removeStaleSocket(path: string): Promise<void> {
  if (process.platform === 'win32') return // a named pipe has no file to leave behind
  let stats: Stats
  try {
    stats = await lstat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  if (!stats.isSocket()) throw new NotASocketError(path, kindOf(stats))
  if (await listenedOn(path)) return
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
}

/** Whether a server accepts connections on the socket at `path`; only a refusal (or no file) means no. */
function listenedOn(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'),
    )
  })
}

function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'file'
  if (stats.isDirectory()) return 'directory'
  if (stats.isSymbolicLink()) return 'symbolic link'
  if (stats.isFIFO()) return 'named pipe (FIFO)'
  return 'device'
}

/**
 * Closing the server removes its socket file (libuv unlinks it). A process that exits without closing it
 * — `process.exit()` from the coordinator's watchdog, or from the application — removes it on `exit`, if
 * the file is still the one this server made (same inode: never another process's socket at the same path).
 */
function removeOnExit(server: Server, path: string): void {
  if (process.platform === 'win32') return
  const made = lstatSync(path)
  const remove = () => {
    try {
      const now = lstatSync(path)
      if (now.isSocket() && now.ino === made.ino && now.dev === made.dev) unlinkSync(path)
    } catch {
      // Gone already.
    }
  }
  process.once('exit', remove)
  server.once('close', () => process.off('exit', remove))
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
