import { constants as http2 } from 'node:http2'
import type { Server } from '@grpc/grpc-js'
import type { Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  boolean,
  callHook,
  checkOptions,
  hookErrorLogger,
  optionalFunction,
  orDefault,
  poll,
  registerTask,
  requireClient,
  requireShutdown,
  TASK_OPTION_KEYS,
  taskOptions,
  trafficSource,
} from '@lameduck/core/adapter'
import { GRPC_DEFAULTS } from './defaults.js'
import { GrpcDrainForcedError, type GrpcDrainStats } from './errors.js'
import { type GrpcHealth, useHealth } from './health.js'
import { useTryShutdownGuard } from './own-shutdown.js'
import { type CallTracker, useTracker } from './tracker.js'

/** What the `onDrain` hook receives, once the GOAWAY is out: what is still open. */
export interface GrpcDrainContext {
  /** Calls in flight (health checks and watches left out); 0 without grpc-js's internals. */
  inFlight: number
  /** HTTP/2 sessions still open; each has been sent GOAWAY. */
  sessions: number
  /** Epoch ms, by the coordinator's clock (`shutdown.clock`), at which whatever is still open is cut. */
  deadline: number
}

export interface GrpcDrainOptions extends AdapterTaskOptions {
  /**
   * Task name. Default: {@link GRPC_DEFAULTS}`.drain.name`, numbered for further servers (`grpc-drain-2`, …);
   * a name you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** Budget of the drain: how long in-flight calls get after the GOAWAY. Default: {@link GRPC_DEFAULTS}`.drain.timeoutMs`. */
  timeoutMs?: number
  /** Whether calls cut at the deadline make the exit code non-zero. Default: {@link GRPC_DEFAULTS}`.drain.critical`. */
  critical?: boolean
  /**
   * Serve `grpc.health.v1.Health` on the server, `NOT_SERVING` from the trigger on (the handle's `health`
   * sets statuses). `false` if the application serves its own. Default: {@link GRPC_DEFAULTS}`.health`.
   */
  health?: boolean
  /**
   * Called once the GOAWAY is out, with what is still open: end long-lived streams of your own here. Not
   * awaited; a throw or a rejection is logged (`grpc.onDrain.error`) and the drain goes on.
   */
  onDrain?: (context: GrpcDrainContext) => void
}

/**
 * What `drainGrpcServer` returns: its {@link Registration} — `name`, `remove()` (unregisters the task,
 * takes the health service and every listener off the server; idempotent), `[Symbol.dispose]` — and what
 * is the drain's own.
 */
export interface GrpcDrain extends Registration {
  readonly server: Server
  /** The health service lameduck serves on the server; `undefined` with `health: false`. */
  readonly health: GrpcHealth | undefined
  /** Calls in flight right now (health checks and watches left out). */
  inFlight(): number
  /** Open HTTP/2 sessions (client connections) right now. */
  connections(): number
  /** Statistics of the drain, once it has run. */
  readonly stats: GrpcDrainStats | undefined
}

/** Every key `GrpcDrainOptions` has, for JavaScript callers' typos. */
export const GRPC_DRAIN_OPTIONS = [...TASK_OPTION_KEYS, 'health', 'onDrain'] as const

const WHERE = 'drainGrpcServer'
const SERVER_METHODS = ['addService', 'removeService', 'bindAsync', 'tryShutdown', 'forceShutdown'] as const

/**
 * Registers the drain of a grpc-js `Server` in the `drain` phase. Call it before `server.bindAsync()`, so
 * that it sees every call. One drain per server and coordinator: a second call for the same server throws
 * the kit's `DuplicateRegistrationError` (`LAMEDUCK_ERR_DUPLICATE_REGISTRATION`) until the first handle's
 * `remove()`.
 *
 * From the first trigger (the `readiness` phase, while endpoints propagate) the server keeps serving every
 * call, on new connections and old, while its health service answers `NOT_SERVING`; each new call tells an
 * adaptive drain delay that the clients still come. In `drain`: `tryShutdown()` stops accepting and sends
 * GOAWAY on every connection — grpc-js clients reconnect, elsewhere by then, and a call that crossed the
 * GOAWAY is refused and retried by the client transparently — health watches are ended, in-flight calls
 * finish. Whatever is still open just before the task's deadline is cut (`forceShutdown()`, and every
 * session destroyed): a `tryShutdown()` that never calls back cannot hold the shutdown past the budget.
 * The application's own `server.tryShutdown(callback)` once the shutdown has begun joins it: `callback` is
 * called when the run is over.
 */
export function drainGrpcServer(shutdown: Shutdown, server: Server, options?: GrpcDrainOptions): GrpcDrain {
  requireShutdown(WHERE, shutdown, 'drainGrpcServer(shutdown, server, options?)')
  requireClient(`server argument of ${WHERE}`, server, 'a grpc-js Server', SERVER_METHODS)
  checkOptions(WHERE, options, GRPC_DRAIN_OPTIONS)
  const o: GrpcDrainOptions = options ?? {}
  const task = taskOptions(WHERE, o, GRPC_DEFAULTS.drain)
  const serveHealth = boolean(`health of ${WHERE}`, orDefault(o.health, GRPC_DEFAULTS.health))
  const onDrain = optionalFunction(`onDrain of ${WHERE}`, o.onDrain)

  let stats: GrpcDrainStats | undefined
  // What remove() undoes, last first: filled in as the registration takes the server over.
  const undo: (() => void)[] = []
  const run = async (signal: AbortSignal, context: TaskContext) => {
    const onHookError = hookErrorLogger(shutdown.logger, { event: 'grpc.onDrain.error', task: name, hook: 'onDrain' })
    try {
      stats = await drain(server, tracker, signal, context, {
        tryShutdown: guard.original,
        health: served?.value,
        onDrain,
        onHookError,
      })
    } finally {
      guard.drained()
    }
    if (stats.forced) throw new GrpcDrainForcedError(stats)
    shutdown.logger.info(
      { event: 'grpc.drained', task: name, ...stats },
      `${name}: drained ${stats.sessionsAtStart} session(s), ${stats.callsAtStart} call(s), in ${stats.durationMs} ms`,
    )
  }
  const onRemove = () => {
    for (const step of undo.splice(0).reverse()) step()
  }
  // Registered first: a task that cannot be registered (the server already drained by this coordinator, a
  // name taken, a phase already begun) leaves the server untouched.
  const spec = { where: WHERE, task, resource: server, resourceLabel: 'this server', run, onRemove }
  const registration = registerTask(shutdown, spec)
  const name = registration.name
  let served: ReturnType<typeof useHealth> | undefined
  try {
    served = serveHealth ? useHealth(server) : undefined
  } catch (error) {
    registration.remove()
    throw error
  }
  if (served) {
    undo.push(served.release)
    // NOT_SERVING until the coordinator's start-up is done, as /readyz: told by its `startup` events.
    const startup = (shutdown as Partial<Shutdown>).startup
    if (startup !== undefined) {
      const health = served.value
      undo.push(health.addGate(() => startup.isDone()))
      undo.push(shutdown.on('startup', () => health.refresh()))
    }
  }
  const { value: tracker, release: releaseTracker } = useTracker(server)
  undo.push(releaseTracker)
  // The application's own tryShutdown() on SIGTERM joins the run (see own-shutdown.ts).
  const guard = useTryShutdownGuard(server, shutdown)
  undo.push(guard.release)
  // New calls during the drain delay tell an adaptive delay that the load balancers still send.
  const traffic = trafficSource(shutdown, name)
  undo.push(traffic.remove, tracker.onArrival(traffic.arrived))
  if (!tracker.control.complete)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_GRPC_INTERNALS',
      message:
        `${name}: this grpc-js server lacks the internals lameduck reads (http2Servers): calls are not counted, ` +
        'the adaptive drain delay hears nothing from it, and sessions forceShutdown() leaves open cannot be ' +
        'destroyed. The drain falls back to tryShutdown() and forceShutdown().',
    })

  // Lame duck from the first trigger: every call is still served — the endpoints still send clients here
  // until the removal has propagated, and a GOAWAY now would send them nowhere better — but the health
  // service answers NOT_SERVING, for the probes and the load balancers that ask it.
  const enterLameDuck = () => served?.value.enterLameDuck()
  if (shutdown.state === 'running') {
    const offState = shutdown.on('state', ({ to }) => {
      if (to !== 'draining') return
      offState()
      enterLameDuck()
    })
    undo.push(offState)
  } else enterLameDuck()

  return {
    name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    server,
    health: served === undefined ? undefined : healthHandle(served.value),
    inFlight: () => tracker.calls.size,
    connections: () => tracker.control.sessions().length,
    get stats() {
      return stats
    },
  }
}

/** What the handle shows of the server's health service: the statuses, not the drain's controls. */
function healthHandle(health: GrpcHealth): GrpcHealth {
  return {
    setStatus: (service, status) => health.setStatus(service, status),
    status: (service) => health.status(service),
  }
}

async function drain(
  server: Server,
  tracker: CallTracker,
  signal: AbortSignal,
  context: TaskContext,
  options: {
    /** grpc-js's own, not the guard the application's calls go through. */
    tryShutdown: Server['tryShutdown']
    health: { endWatches(): number } | undefined
    onDrain: GrpcDrainOptions['onDrain']
    onHookError: (error: unknown) => void
  },
): Promise<GrpcDrainStats> {
  // The budget is the task's, by the coordinator's clock: its deadline, its signal, the kit's poll.
  const { clock } = context
  const { control, calls } = tracker
  const started = clock.now()
  const stats: GrpcDrainStats = {
    sessionsAtStart: control.sessions().length,
    callsAtStart: calls.size,
    watchesEnded: 0,
    forced: false,
    sessionsForced: 0,
    callsCut: 0,
    tracked: control.complete,
    durationMs: 0,
  }
  // Stops accepting on every port and sends GOAWAY on every session (Node's session.close()): clients open
  // new connections for their next calls, and the sessions close once their calls are done.
  let shutDown = false
  options.tryShutdown.call(server, () => {
    shutDown = true
  })
  tracker.shutDown()
  // After the GOAWAY, so that a watcher cannot open its next Watch on this connection.
  stats.watchesEnded = options.health?.endWatches() ?? 0
  const forceAt = context.stopAt()
  // The hook is the application's; a bug in it must not stop the drain — nor, when the hook is async, reach
  // the process as an unhandled rejection, which the coordinator records as a run error (exit code 1).
  callHook(
    options.onDrain,
    [{ inFlight: calls.size, sessions: control.sessions().length, deadline: forceAt }],
    options.onHookError,
  )

  // Done when tryShutdown() calls back — or, since it may never do so (grpc-js has had such bugs), as soon
  // as every session and every call is gone.
  const drained = () => shutDown || (control.complete && calls.size === 0 && control.sessions().length === 0)
  const done = await poll(drained, { clock, signal, everyMs: GRPC_DEFAULTS.pollMs, until: forceAt })
  if (!done) {
    stats.forced = true
    stats.callsCut = calls.size
    stats.sessionsForced = control.sessions().length
  }
  // forceShutdown() cancels the calls still running on the sessions channelz knows — all of them, unless
  // channelz is disabled — and finishes grpc-js's own bookkeeping when tryShutdown() did not call back.
  if (!shutDown) server.forceShutdown()
  // As forceShutdown() does (the code in place of the error): the clients' calls end CANCELLED.
  for (const session of control.sessions())
    if (!session.destroyed) session.destroy(http2.NGHTTP2_CANCEL as unknown as Error)
  stats.durationMs = Math.round(clock.now() - started)
  return stats
}
