import { Server as NetServer } from 'node:net'
import type { Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  type ClaimedRequest,
  type Clock,
  checkOptions,
  claimRequests,
  describeArgument,
  duration,
  handOverSocket,
  InvalidOptionError,
  isProbeTraffic,
  poll,
  registerTask,
  requireShutdown,
  type SpreadClose,
  settleBy,
  spreadClose,
  TASK_OPTION_KEYS,
  taskOptions,
  trafficSource,
} from '@lameduck/core/adapter'
import { SOCKETIO_DEFAULTS } from './defaults.js'
import { type SocketIoCloseStats, SocketIoTerminatedError } from './errors.js'
import { engineClients, pendingAcks, respondingOn, unsentPackets } from './internals.js'

type Listener = (...args: never[]) => void

/** What `closeSocketIo` uses of a TCP socket under engine.io's requests: `end()`, `destroy()`, `once('close')`. */
interface SocketLike {
  readonly destroyed?: boolean
  end(): unknown
  destroy(): unknown
  once(event: 'close', listener: () => void): unknown
}

/** What `closeSocketIo` reads of an engine.io request (an `IncomingMessage` engine.io has parsed). */
interface EngineRequestLike extends ClaimedRequest {
  readonly socket?: object | null
  readonly _query?: Record<string, string | undefined>
}

/** A long-polling response: Node's `ServerResponse` (an upgrade gets engine.io's stand-in, without these). */
interface PollResponseLike {
  shouldKeepAlive: boolean
  once(event: 'close', listener: () => void): unknown
}

/**
 * What `closeSocketIo` uses of an engine.io connection (`socket.conn` on the server): its `id`, `readyState`,
 * `transport.name`, the `request` it was opened with, `close()` and its `close` event.
 */
export interface EngineConnectionLike {
  readonly id: string
  readonly readyState: string
  readonly transport: { readonly name: string }
  readonly request?: { readonly socket?: object | null; readonly headers: ClaimedRequest['headers'] } | undefined
  close(discard?: boolean): void
  once(event: string, listener: Listener): unknown
}

/** What `closeSocketIo` uses of engine.io's server (`io.engine`, engine.io 6.4 and later): `use()` and its events. */
export interface EngineServerLike {
  use(middleware: (req: never, res: never, next: (error?: unknown) => void) => void): void
  on(event: 'connection', listener: (conn: EngineConnectionLike) => void): unknown
  off(event: 'connection', listener: (conn: EngineConnectionLike) => void): unknown
}

/**
 * What `closeSocketIo` uses of a socket.io `Server` (socket.io 4.6 and later): `engine`, `httpServer`,
 * `path()`, `close()` and the namespaces' sockets (`_nsps`, for the count of awaited acknowledgements).
 */
export interface SocketIoServerLike {
  readonly engine: EngineServerLike
  readonly httpServer?: object | undefined
  path(): string
  close(callback?: (error?: Error) => void): unknown
  readonly _nsps?: ReadonlyMap<string, { readonly sockets: ReadonlyMap<string, { readonly conn: object }> }>
}

export interface CloseSocketIoOptions extends AdapterTaskOptions {
  /** Task name. Default: {@link SOCKETIO_DEFAULTS}`.name`, numbered for further servers (`socket.io-close-2`, …). */
  name?: string
  /** When the connections are closed. Default: {@link SOCKETIO_DEFAULTS}`.phase`. */
  phase?: AdapterTaskOptions['phase']
  /** The task's budget: what is still open at its end is cut. Default: {@link SOCKETIO_DEFAULTS}`.timeoutMs`. */
  timeoutMs?: number
  /** Whether cut connections make the exit code non-zero. Default: {@link SOCKETIO_DEFAULTS}`.critical`. */
  critical?: boolean
  /** The window the closes are spread evenly over, shortened to fit the budget. Default: {@link SOCKETIO_DEFAULTS}`.spreadMs`. */
  spreadMs?: number
  /** Time kept at the end of the budget for the last closes to complete. Default: {@link SOCKETIO_DEFAULTS}`.handshakeMs`. */
  handshakeMs?: number
}

/**
 * What `closeSocketIo` returns: its {@link Registration} — `name`, `remove()` (unregisters the task and takes
 * its listeners off the server; idempotent), `[Symbol.dispose]` — and what is its own.
 */
export interface SocketIoClose extends Registration {
  /** Open engine.io connections right now (one per client, whatever its namespaces). */
  connections(): number
  /** What the task did, once it has run. */
  readonly stats: SocketIoCloseStats | undefined
}

/** Every key `CloseSocketIoOptions` has, for JavaScript callers' typos. */
export const CLOSE_OPTIONS = [...TASK_OPTION_KEYS, 'spreadMs', 'handshakeMs'] as const

const WHERE = 'closeSocketIo'
/** How often the task looks at what is left to close (as often as the HTTP drain sweeps). */
const HTTP_SWEEP_MS = 25

function isPollResponse(res: unknown): res is PollResponseLike {
  return typeof (res as { shouldKeepAlive?: unknown } | null)?.shouldKeepAlive === 'boolean'
}

/** Stops a server accepting connections without touching the open ones (`http.Server#close` would, on Node ≥ 19). */
function stopAccepting(server: object | undefined): void {
  if (server instanceof NetServer && server.listening) NetServer.prototype.close.call(server, () => {})
}

/**
 * Registers, in the `drain` phase, the lame-duck close of every connection of a socket.io server: instead of
 * being cut when the process goes, each client is told to reconnect — elsewhere, since by then the endpoints
 * no longer list this replica — by the close of its engine.io transport, which socket.io clients answer by
 * reconnecting ("transport close"; `socket.disconnect(true)` would give "io server disconnect", on which they
 * do not), the closes spread evenly over `spreadMs`.
 *
 * - Until the drain nothing changes: new connections are accepted and served.
 * - In the drain: the HTTP server stops accepting; existing connections are closed one after the other across
 *   the window (`spreadMs`, shortened so that `handshakeMs` remain before the deadline), each after what was
 *   already emitted on it (engine.io flushes its buffer first); a connection made while the task runs is
 *   closed at once. A long-polling client's TCP connections are ended once idle after its close, so that the
 *   reconnect opens a new one, routed to another replica.
 * - The closes are waited for until shortly before the deadline (the task context's `stopAt()`); what is
 *   still open then is cut, counted (`stats.terminated`, `unsentPackets`), and the task fails with
 *   `SocketIoTerminatedError`. Then `io.close()` runs — the namespaces' adapters closed — without closing the
 *   HTTP server, whose drain is `drainHttpServer`'s.
 *
 * The sockets under engine.io's requests (WebSocket upgrades and long-polling requests) are handed over (the
 * kit's `handOverSocket`, and `claimRequests` for polls on new sockets during the drain delay): the HTTP drain
 * of the same server neither waits for them, nor asks them to close, nor destroys them. Call it once the
 * server is attached (`new Server(httpServer)`) and before it accepts connections.
 */
export function closeSocketIo(
  shutdown: Shutdown,
  io: SocketIoServerLike,
  options?: CloseSocketIoOptions,
): SocketIoClose {
  requireShutdown(WHERE, shutdown, 'closeSocketIo(shutdown, io, options?)')
  const engine = (io as { engine?: unknown } | null | undefined)?.engine as EngineServerLike | undefined
  if (
    io === null ||
    typeof io !== 'object' ||
    typeof io.path !== 'function' ||
    typeof io.close !== 'function' ||
    engine === null ||
    typeof engine !== 'object' ||
    typeof engine.on !== 'function'
  )
    throw new InvalidOptionError(
      `io argument of ${WHERE}`,
      `expected a socket.io Server attached to its HTTP server (new Server(httpServer), or after io.attach()); got ${describeArgument(io)}`,
    )
  if (typeof engine.use !== 'function')
    throw new InvalidOptionError(
      `io argument of ${WHERE}`,
      'expected socket.io 4.6 or later (engine.io 6.4: io.engine.use()); this engine has no use() method',
    )
  checkOptions(WHERE, options, CLOSE_OPTIONS)
  const o: CloseSocketIoOptions = options ?? {}
  const task = taskOptions(WHERE, o, SOCKETIO_DEFAULTS)
  const spreadMs = duration(`spreadMs of ${WHERE}`, o.spreadMs, SOCKETIO_DEFAULTS.spreadMs)
  const handshakeMs = duration(`handshakeMs of ${WHERE}`, o.handshakeMs, SOCKETIO_DEFAULTS.handshakeMs)

  // engine.io's path ("/socket.io"), as its own check reads it: the prefix of every request it takes.
  const prefix = `${io.path().replace(/\/$/, '')}/`
  const isEngineRequest = (req: ClaimedRequest) => typeof req.url === 'string' && req.url.startsWith(prefix)

  // The HTTP drain reads `active` on each handed-over socket: `false` after remove() gives them back to it.
  const owner = { name: task.name, active: true }
  /** Open engine.io connections, by id. */
  const conns = new Map<string, EngineConnectionLike>()
  /** Every TCP socket that carried an engine.io request and is still open: this adapter's to close. */
  const owned = new Set<SocketLike>()
  /** Of those, the upgraded ones (WebSocket): closed by engine.io with their connection. */
  const upgraded = new WeakSet<object>()
  /** Long-polling requests in flight per socket: a socket with none is idle, and may be ended. */
  const busy = new WeakMap<object, number>()
  /** The sockets each connection's requests came on (its polls and posts, its WebSocket). */
  const socketsOf = new Map<string, Set<SocketLike>>()
  /**
   * In the drain: HTTP sockets whose connection is gone, ended as soon as they are idle — a keep-alive socket
   * kept would carry the client's reconnect back to this replica, instead of a new TCP connection routed
   * elsewhere (the response carrying the close packet cannot say `Connection: close`: whether the close rides on
   * it is engine.io's business, and a poll answered with data must leave the socket open for the next one).
   */
  const ending = new WeakSet<SocketLike>()
  const ended = new WeakSet<SocketLike>()
  let stats: SocketIoCloseStats | undefined
  /** The task has run: its sockets are closed, and new connections are refused. */
  let finished = false
  // Set when the task starts: connections made from then on are told to go at once.
  let drain: SpreadClose<EngineConnectionLike> | undefined

  const own = (socket: SocketLike) => {
    if (owned.has(socket) || socket.destroyed === true) return
    owned.add(socket)
    handOverSocket(socket, owner)
    socket.once('close', () => owned.delete(socket))
  }
  /** Ends `socket` if it is marked and idle: no poll of engine.io's, nor a response of the application's, on it. */
  const tryEnd = (socket: SocketLike) => {
    if (!ending.has(socket) || ended.has(socket) || (busy.get(socket) ?? 0) > 0) return
    if (respondingOn(socket) === true) return
    ended.add(socket)
    socket.end()
  }
  const endWhenIdle = (socket: SocketLike) => {
    if (upgraded.has(socket)) return
    ending.add(socket)
    tryEnd(socket)
  }
  const socketOf = (sid: string, socket: SocketLike) => {
    const sockets = socketsOf.get(sid) ?? new Set()
    socketsOf.set(sid, sockets)
    sockets.add(socket)
  }

  const track = (conn: EngineConnectionLike) => {
    if (conns.has(conn.id) || conn.readyState === 'closed') return
    conns.set(conn.id, conn)
    const socket = conn.request?.socket as SocketLike | null | undefined
    // A connection opened on WebSocket (its request was the upgrade): its socket is the connection.
    if (socket && conn.transport.name === 'websocket') {
      upgraded.add(socket)
      own(socket)
      socketOf(conn.id, socket)
    }
    conn.once('close', () => {
      conns.delete(conn.id)
      // In the drain the task still reads them (whether the WebSocket under it has closed too), then drops them.
      if (drain === undefined) socketsOf.delete(conn.id)
      else for (const s of socketsOf.get(conn.id) ?? []) endWhenIdle(s)
    })
  }

  // Every engine.io request (handshake, poll, post, upgrade) passes here before engine.io handles it.
  const middleware = (req: EngineRequestLike, res: unknown, next: (error?: unknown) => void) => {
    // Once the task is over nobody would close a new connection here: a handshake is refused (400; the
    // client retries, on a new TCP connection, elsewhere).
    if (finished && req._query?.sid === undefined) {
      if (isPollResponse(res)) res.shouldKeepAlive = false
      next(new Error(`${name}: this server is shutting down`))
      return
    }
    if (owner.active && req.socket) {
      const socket = req.socket as SocketLike
      if (req.headers.upgrade !== undefined) upgraded.add(socket)
      own(socket)
      const sid = req._query?.sid
      if (sid !== undefined) socketOf(sid, socket)
      if (isPollResponse(res)) {
        busy.set(socket, (busy.get(socket) ?? 0) + 1)
        res.once('close', () => {
          const left = (busy.get(socket) ?? 1) - 1
          busy.set(socket, left)
          // After Node has detached the response (its 'close' comes first): looked at on the next tick.
          if (left === 0 && ending.has(socket)) setImmediate(() => tryEnd(socket))
        })
        // In the drain, a new handshake (its connection is told to go at once) or a request for a connection
        // that is gone closes its TCP connection after its response: the reconnect goes elsewhere.
        if (drain !== undefined && (sid === undefined || !conns.has(sid))) res.shouldKeepAlive = false
      }
    }
    next()
  }

  const onConnection = (conn: EngineConnectionLike) => {
    track(conn)
    // A new client during the drain delay tells an adaptive delay that the load balancers still send.
    const userAgent = conn.request?.headers['user-agent']
    if (drain === undefined && !isProbeTraffic(typeof userAgent === 'string' ? userAgent : undefined)) traffic.arrived()
    drain?.accepted(conn)
  }

  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    const present = [...conns.values()].filter((conn) => conn.readyState === 'open')
    const s: SocketIoCloseStats = {
      connectionsAtStart: present.length,
      pollingAtStart: present.filter((conn) => conn.transport.name === 'polling').length,
      acceptedDuringDrain: 0,
      closeSent: 0,
      closed: 0,
      terminated: 0,
      unsentPackets: 0,
      acksPending: 0,
      windowMs: 0,
      durationMs: 0,
    }
    stats = s
    // The socket.io sockets (one per namespace) of each connection, read once: to count the emits awaiting
    // their acknowledgement when it is closed.
    const socketsByConn = new Map<object, object[]>()
    for (const nsp of io._nsps?.values() ?? [])
      for (const socket of nsp.sockets.values()) {
        const list = socketsByConn.get(socket.conn) ?? []
        socketsByConn.set(socket.conn, list)
        list.push(socket)
      }
    const acksOf = (conn: EngineConnectionLike) => {
      let n = 0
      for (const socket of socketsByConn.get(conn) ?? []) n += pendingAcks(socket)
      return n
    }
    const told = new WeakSet<EngineConnectionLike>()
    const closing = spreadClose<EngineConnectionLike>({
      stats: s,
      goAway(conn) {
        if (conn.readyState !== 'open' || told.has(conn)) return
        told.add(conn)
        s.acksPending += acksOf(conn)
        // engine.io sends what it has buffered, then closes the transport: a WebSocket close frame, or the
        // close packet on the next poll. The client sees "transport close" and reconnects.
        conn.close()
        s.closeSent++
      },
      // Closed by engine.io, and the WebSocket under it (if any) through its close handshake.
      isGone: (conn) =>
        conn.readyState === 'closed' &&
        [...(socketsOf.get(conn.id) ?? [])].every((socket) => !upgraded.has(socket) || socket.destroyed === true),
      cut(conn) {
        s.unsentPackets += unsentPackets(conn)
        for (const socket of socketsOf.get(conn.id) ?? []) socket.destroy()
        if (conn.readyState !== 'closed') conn.close(true)
      },
    })
    drain = closing
    // Reconnects must go elsewhere (an HTTP server shared with the application is also stopped by its drain).
    stopAccepting(io.httpServer)

    // Every connection gone, then every HTTP socket of theirs ended once idle (the deadline, the signal).
    const socketsEnded = () => {
      for (const socket of owned) endWhenIdle(socket)
      return owned.size === 0
    }
    const stopAt = context.stopAt()
    const timing = { until: stopAt, clock, signal }
    if (await closing.spread(present, { spreadMs, reserveMs: handshakeMs, ...timing }))
      await poll(() => closing.allGone() && socketsEnded(), { everyMs: HTTP_SWEEP_MS, ...timing })
    // What is left — close not completed, or never started because the budget ran out — is cut.
    closing.cutRest(conns.values())
    for (const socket of owned) socket.destroy()
    socketsOf.clear()
    finished = true
    // Nothing of engine.io's is left to hand over: what comes now (a poll for a session that is gone, on a
    // kept-alive connection) is the HTTP drain's again.
    owner.active = false

    // What io.close() does besides: the namespaces' adapters (a Redis adapter's subscriptions), engine.io's
    // state. Without the HTTP server: its drain has it, and would be cut short.
    await closeWithoutServer(io, context.deadline, clock)
    s.durationMs = Math.round(clock.now() - started)
    if (s.terminated > 0) throw new SocketIoTerminatedError({ ...s })
    shutdown.logger.info(
      { event: 'socket.io.closed', task: name, ...s },
      `${name}: ${s.closed} socket.io connection(s) told to reconnect over ${s.windowMs} ms, in ${s.durationMs} ms`,
    )
  }
  const onRemove = () => {
    owner.active = false
    engine.off('connection', onConnection)
    traffic.remove()
    unclaim()
  }
  const spec = { where: WHERE, task, resource: io, resourceLabel: 'this socket.io Server', run, onRemove }
  const registration = registerTask(shutdown, spec)
  const name = registration.name
  owner.name = name
  const traffic = trafficSource(shutdown, name)
  // engine.io has no way to take a middleware off: after remove() it does nothing (`owner.active`).
  engine.use(middleware)
  engine.on('connection', onConnection)
  const unclaim = io.httpServer ? claimRequests(io.httpServer, owner, isEngineRequest) : () => {}
  // Connections made before: tracked now, where engine.io lets them be read.
  for (const conn of engineClients(engine) ?? []) track(conn as EngineConnectionLike)

  return {
    name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    connections: () => [...conns.values()].filter((conn) => conn.readyState !== 'closed').length,
    get stats() {
      return stats
    },
  }
}

/**
 * `io.close()` with its HTTP server left open: for the length of the call the server's `close` stops
 * accepting (if it still does) and calls back at once, and closing its connections does nothing — as the
 * fastify adapter does for `app.close()`. Node's `server.close()` (≥ 19) would end the idle keep-alive
 * sockets the HTTP drain is letting finish, and its callback wait for the connection carrying `/shutdown`.
 */
async function closeWithoutServer(io: SocketIoServerLike, until: number, clock: Clock): Promise<void> {
  const server = io.httpServer as Record<string, unknown> | undefined
  const shadowed = ['close', 'closeAllConnections', 'closeIdleConnections'] as const
  const own = server ? shadowed.map((key) => Object.getOwnPropertyDescriptor(server, key)) : []
  if (server)
    Object.assign(server, {
      close(callback?: (error?: Error) => void) {
        stopAccepting(server)
        if (callback) process.nextTick(callback)
        return server
      },
      closeAllConnections() {},
      closeIdleConnections() {},
    })
  try {
    const closed = new Promise<void>((resolve) => {
      const result = io.close(() => resolve())
      // socket.io 4 returns a promise too: its rejection is the callback's error, already settled.
      if (result instanceof Promise) result.catch(() => resolve())
    })
    await settleBy(closed, until, { clock })
  } finally {
    if (server)
      shadowed.forEach((key, i) => {
        const descriptor = own[i]
        if (descriptor) Object.defineProperty(server, key, descriptor)
        else delete server[key]
      })
  }
}
