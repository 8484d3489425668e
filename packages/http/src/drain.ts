import type { Server as HttpServer, ServerResponse } from 'node:http'
import type { Http2ServerResponse, Http2Session } from 'node:http2'
import type { Socket } from 'node:net'
import type { Phase, Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  boolean,
  callHook,
  checkOptions,
  duration,
  hookErrorLogger,
  optionalFunction,
  orDefault,
  perResource,
  poll,
  registerTask,
  requireShutdown,
  socketOwner,
  TASK_OPTION_KEYS,
  taskOptions,
  trafficSource,
} from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from './defaults.js'
import { DrainForcedError, type DrainStats } from './errors.js'
import { isProtected } from './protect.js'
import { checkServerTimeouts } from './server-checks.js'
import { type AnyServer, ConnectionTracker, stopAccepting } from './tracker.js'
import { requireServer } from './validate.js'

/** What the `onDrain` hook receives: what is still open, so the application can say goodbye. */
export interface DrainContext {
  /**
   * Responses still in flight (long polls, SSE streams, slow requests). Not those on sockets handed over to
   * another adapter (`closeEventStreams`, `closeSocketIo` of `@lameduck/socket.io`), which ends them itself.
   */
  responses: (ServerResponse | Http2ServerResponse)[]
  /**
   * Sockets upgraded to another protocol (WebSocket): close them with a goodbye (e.g. 1001). Not those handed
   * over to another adapter (`closeWebSockets` of `@lameduck/ws`), which closes them itself.
   */
  upgraded: Socket[]
  /** HTTP/2 sessions; each has already been sent GOAWAY (the one carrying `/shutdown` is not listed). */
  sessions: Http2Session[]
  /** Epoch ms, by the coordinator's clock (`shutdown.clock`), at which whatever is still open is force-closed. */
  deadline: number
}

export interface DrainOptions extends AdapterTaskOptions {
  /**
   * Task name. Default: {@link HTTP_DEFAULTS}`.drain.name`, numbered for further servers (`http-drain-2`, …);
   * a name you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** When the drain runs. Default: {@link HTTP_DEFAULTS}`.drain.phase`. */
  phase?: Phase
  /** Budget of the drain task: how long in-flight requests may take after the drain starts. Default: {@link HTTP_DEFAULTS}`.drain.timeoutMs`. */
  timeoutMs?: number
  /** Whether connections force-closed at the deadline make the exit code non-zero. Default: {@link HTTP_DEFAULTS}`.drain.critical`. */
  critical?: boolean
  /**
   * In the drain phase, a keep-alive socket is ended once it has had no request for this long. Default:
   * the coordinator's `drainDelayMs` (an adaptive delay's `minMs`) — a socket idle that long was not used
   * once since the shutdown began, so its client is unlikely to pick it in the instant it is closed. Idle time is counted from the
   * first trigger at the earliest: before it, lameduck does nothing per request.
   */
  idleMs?: number
  /**
   * Called once when the drain starts, with what is still open; not awaited. A throw or a rejection is
   * logged (`http.onDrain.error`) and the drain goes on.
   */
  onDrain?: (context: DrainContext) => unknown
  /** Warn at start-up about `keepAliveTimeout` / `headersTimeout`. Default: {@link HTTP_DEFAULTS}`.drain.checkTimeouts`. */
  checkTimeouts?: boolean
}

/**
 * What `drainHttpServer` returns: its {@link Registration} — `name`, `remove()` (unregisters the task and
 * takes every listener off the server; idempotent), `[Symbol.dispose]` — and what is the drain's own.
 */
export interface HttpDrain extends Registration {
  readonly server: AnyServer
  /** Open connections (HTTP/1 sockets and HTTP/2 sessions) right now. */
  connections(): number
  /** Requests in flight right now. */
  inFlight(): number
  /** Statistics of the drain, once it has run. */
  readonly stats: DrainStats | undefined
}

/** Every key `DrainOptions` has, for JavaScript callers' typos. */
export const DRAIN_OPTIONS = [...TASK_OPTION_KEYS, 'idleMs', 'onDrain', 'checkTimeouts'] as const

/** The shortest the coordinator's drain delay can be (a coordinator without `config.drainDelay`: the number). */
function drainDelayFloor(shutdown: Shutdown): number {
  const config = shutdown.config as Partial<Shutdown['config']>
  return config.drainDelay?.minMs ?? shutdown.config.drainDelayMs
}

// One tracker per server, shared by every drain of it — another coordinator's, another copy's of this
// package (ESM and CommonJS side by side): two trackers would mark the same sockets twice. Taken off the
// server when the last drain using it is removed.
/** @internal The tracker of `server`, shared with every other user of it (`closeEventStreams` too). */
export const useTracker = perResource(
  'http:trackers:v1',
  (server: AnyServer) => new ConnectionTracker(server),
  (tracker) => tracker.detach(),
)

/**
 * Registers the zero-drop drain of `server` in the `drain` phase. Call it before `server.listen()` so
 * that it sees every connection (connections accepted earlier are picked up at their next request,
 * and a warning says so). One drain per server and coordinator: a second call for the same server throws
 * the kit's `DuplicateRegistrationError` (`LAMEDUCK_ERR_DUPLICATE_REGISTRATION`) until the first handle's
 * `remove()`.
 *
 * From the first trigger (the `readiness` phase, while endpoints propagate) the server keeps accepting and
 * serving, but every HTTP/1 connection is asked to close after the response to the latest request read on
 * it (`Connection: close`; a pipelining client gets every response it asked for first), so clients
 * reconnect — elsewhere, once the endpoints have propagated; HTTP/2 sessions, new and existing, are served
 * as usual. In `drain`: it stops accepting; sockets idle for `idleMs` are ended; HTTP/2 sessions get GOAWAY
 * (as does any session set up after that, at once); in-flight requests finish; whatever is left is
 * force-closed just before the task's deadline. The connection carrying `/shutdown` (HTTP/1, over TLS or
 * not, or HTTP/2) is never closed by the drain. A server that starts listening once the drain has begun is
 * closed at once (`LAMEDUCK_WARN_LISTEN_AFTER_DRAIN`): nothing would drain what it accepted.
 */
export function drainHttpServer(shutdown: Shutdown, server: AnyServer, options?: DrainOptions): HttpDrain {
  requireShutdown('drainHttpServer', shutdown, 'drainHttpServer(shutdown, server, options?)')
  requireServer('drainHttpServer', server)
  return drainHttpServerFor('drainHttpServer', shutdown, server, options)
}

/**
 * `drainHttpServer` for a framework adapter (the Fastify plugin's `drain` option, …): the same drain, options
 * and checks, with messages naming `where` (e.g. `drain of lameduck`) instead of `drainHttpServer`. The
 * adapter has checked `shutdown` and `server` itself, in its own terms.
 */
export function drainHttpServerFor(
  where: string,
  shutdown: Shutdown,
  server: AnyServer,
  options?: DrainOptions,
): HttpDrain {
  const WHERE = where
  requireShutdown(WHERE, shutdown, 'drainHttpServer(shutdown, server, options?)')
  requireServer(WHERE, server)
  checkOptions(WHERE, options, DRAIN_OPTIONS)
  const o: DrainOptions = options ?? {}
  const task = taskOptions(WHERE, o, HTTP_DEFAULTS.drain)
  // A fixed delay's length, an adaptive one's `minMs`: the delay lasted at least that long (and a socket used
  // since the trigger was asked to close, so one still idle at the drain was not used since).
  const idleMs = duration(`idleMs of ${WHERE}`, o.idleMs, drainDelayFloor(shutdown))
  const onDrain = optionalFunction(`onDrain of ${WHERE}`, o.onDrain)
  const checkTimeouts = boolean(
    `checkTimeouts of ${WHERE}`,
    orDefault(o.checkTimeouts, HTTP_DEFAULTS.drain.checkTimeouts),
  )

  let stats: DrainStats | undefined
  const run = async (signal: AbortSignal, context: TaskContext) => {
    // The hook is the application's: a throw or a rejection is logged, and the drain goes on.
    const onHookError = hookErrorLogger(shutdown.logger, { event: 'http.onDrain.error', task: name, hook: 'onDrain' })
    stats = await drain(tracker, signal, context, { idleMs, onDrain, onHookError })
    if (stats.forced > 0) throw new DrainForcedError(stats)
    shutdown.logger.info(
      { event: 'http.drained', task: name, ...stats },
      `${name}: drained ${stats.connectionsAtStart} connection(s) in ${stats.durationMs} ms`,
    )
  }
  const onRemove = () => {
    offArrival()
    traffic.remove()
    offState()
    server.off('listening', onListening)
    server.off('listening', checkOnListen)
    release()
  }
  // Registered first: a task that cannot be registered (the server already drained by this coordinator, a
  // name taken, a phase already begun) leaves the server untouched.
  const spec = { where: WHERE, task, resource: server, resourceLabel: 'this server', run, onRemove }
  const registration = registerTask(shutdown, spec)
  const name = registration.name
  const { value: tracker, release } = useTracker(server)
  // New connections during the drain delay tell an adaptive delay that the load balancers still send.
  const traffic = trafficSource(shutdown, name)
  const offArrival = tracker.onArrival(traffic.arrived)

  if (server.listening) {
    server.getConnections((error, existing) => {
      if (!error && existing > 0)
        shutdown.warn({
          code: 'LAMEDUCK_WARN_DRAIN_ATTACHED_LATE',
          message:
            `drainHttpServer was called after ${name}'s server accepted ${existing} connection(s); they are ` +
            'tracked from their next request only. Call drainHttpServer before server.listen().',
          details: { existing },
        })
    })
  }
  const checkOnListen = () => checkServerTimeouts(shutdown, server as HttpServer, name)
  if (checkTimeouts) {
    if (server.listening) checkOnListen()
    else server.once('listening', checkOnListen)
  }

  // A server that starts listening once its drain has begun (or was skipped) would serve requests nobody
  // tracks, and never stop accepting. Closed on the next tick: after the application's own 'listening'
  // callbacks (which may read `server.address()`), before the event loop can accept a connection.
  const onListening = () => {
    const state = shutdown.state
    if (!tracker.draining && state !== 'stopping' && state !== 'stopped') return
    process.nextTick(() => stopAccepting(server))
    const address = server.address()
    shutdown.warn({
      code: 'LAMEDUCK_WARN_LISTEN_AFTER_DRAIN',
      message:
        `${name}: server.listen() was called after the drain began (coordinator ${state}); the server was ` +
        'closed at once, before accepting a connection: nothing would have drained it. Start listening ' +
        "before the shutdown, or check shutdown.state !== 'running' first.",
      details: { address: typeof address === 'string' ? address : address?.port, state },
    })
  }
  server.on('listening', onListening)

  // Lame duck from the first trigger: still accepting and serving, but every HTTP/1 response asks its client
  // to reconnect — to another replica once the endpoints have propagated — so that by the time the drain
  // starts, only sockets nobody used since the trigger are left. Closing a socket that is in use always
  // races the client's next request; a `Connection: close` response never does. HTTP/2 sessions are left
  // alone until the drain (GOAWAY then): refusing one now would refuse a client the endpoints still send.
  const offState = shutdown.on('state', ({ to }) => {
    if (to !== 'draining') return
    offState()
    tracker.startLameDuck()
  })

  return {
    name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    server,
    connections: () => tracker.sockets.size + tracker.sessions.size,
    inFlight: () => tracker.inFlightCount(),
    get stats() {
      return stats
    },
  }
}

async function drain(
  tracker: ConnectionTracker,
  signal: AbortSignal,
  context: TaskContext,
  options: { idleMs: number; onDrain: DrainOptions['onDrain']; onHookError: (error: unknown) => void },
): Promise<DrainStats> {
  // The budget is the task's, by the coordinator's clock: its deadline, its signal, the kit's poll.
  const { clock } = context
  const started = clock.now()
  const stats: DrainStats = {
    connectionsAtStart: tracker.pending(),
    requestsAtStart: tracker.inFlight().length,
    closedAfterResponse: 0,
    idleEnded: 0,
    forced: 0,
    requestsCut: 0,
    upgradedForced: 0,
    sessionsForced: 0,
    handedOver: 0,
    durationMs: 0,
  }
  for (const socket of tracker.sockets) if (socketOwner(socket) !== undefined) stats.handedOver++
  tracker.startLameDuck()
  tracker.draining = true
  stopAccepting(tracker.server)
  for (const session of tracker.sessions) if (!isProtected(session)) session.close()

  const forceAt = context.stopAt()
  callHook(
    options.onDrain,
    [
      {
        // Not those on sockets handed over to another adapter (a socket.io poll, an SSE stream): it ends them.
        responses: tracker.inFlight().filter((res) => {
          const socket = (res as ServerResponse).socket
          return !socket || socketOwner(socket) === undefined
        }),
        upgraded: [...tracker.sockets].filter(
          (socket) => tracker.isUpgraded(socket) && !isProtected(socket) && socketOwner(socket) === undefined,
        ),
        sessions: [...tracker.sessions].filter((session) => !isProtected(session)),
        deadline: forceAt,
      },
    ],
    options.onHookError,
  )

  // Ends keep-alive sockets that have seen no request for `idleMs`; the protected and upgraded ones never
  // (nor those handed over to another adapter, upgraded too).
  // Idle time is keep-alive mechanics, not the budget: measured on the monotonic `performance.now()`, as
  // the tracker samples it.
  const ended = new WeakSet<Socket>()
  const sweep = () => {
    const now = performance.now()
    for (const socket of tracker.sockets) {
      if (
        ended.has(socket) ||
        isProtected(socket) ||
        tracker.isUpgraded(socket) ||
        socketOwner(socket) !== undefined ||
        tracker.isActive(socket)
      )
        continue
      if (tracker.idleForMs(socket, now) >= options.idleMs) {
        ended.add(socket)
        stats.idleEnded++
        socket.end()
      }
    }
  }

  // Every `sweepMs` until nothing is left, the force time passes or the task's signal aborts (its budget
  // ran out early, or the process exits): then whatever is left is force-closed.
  const empty = () => {
    sweep()
    return tracker.pending() === 0
  }
  const done = await poll(empty, { clock, signal, everyMs: HTTP_DEFAULTS.sweepMs, until: forceAt })
  if (!done && tracker.pending() > 0) force(tracker, stats)
  // TLS handshakes that never completed, and the TCP sockets under sessions that are gone — but not the one
  // under the protected /shutdown connection, whether HTTP/1 over TLS or an HTTP/2 session (h2c or h2), nor
  // those under upgraded TLS sockets handed over to another adapter (a WebSocket over https still closing).
  const keep = new Set<Socket | undefined>()
  for (const socket of tracker.sockets)
    if (isProtected(socket) || socketOwner(socket) !== undefined) keep.add(tracker.rawOf(socket))
  for (const session of tracker.sessions) if (isProtected(session)) keep.add(tracker.rawOf(session))
  for (const socket of tracker.raw) if (!keep.has(socket)) socket.destroy()
  tracker.stop()
  stats.closedAfterResponse = Math.max(0, stats.connectionsAtStart - stats.idleEnded - stats.forced)
  stats.durationMs = Math.round(clock.now() - started)
  return stats
}

function force(tracker: ConnectionTracker, stats: DrainStats): void {
  for (const res of tracker.inFlight()) if (!res.writableFinished) stats.requestsCut++
  for (const socket of tracker.sockets) {
    // Handed over: its owner closes it (and terminates it at its own deadline).
    if (isProtected(socket) || socketOwner(socket) !== undefined) continue
    if (tracker.isUpgraded(socket)) stats.upgradedForced++
    stats.forced++
    socket.destroy()
  }
  for (const session of tracker.sessions) {
    if (isProtected(session)) continue
    stats.sessionsForced++
    stats.forced++
    session.destroy()
  }
}
