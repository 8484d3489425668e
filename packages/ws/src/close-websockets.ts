import type { IncomingMessage } from 'node:http'
import { InvalidOptionError, type Registration, type Shutdown, type TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  describeValue,
  duration,
  handOverSocket,
  isProbeTraffic,
  oneOf,
  registerTask,
  requireClient,
  requireShutdown,
  type SpreadClose,
  spreadClose,
  string,
  TASK_OPTION_KEYS,
  taskOptions,
  trafficSource,
} from '@lameduck/core/adapter'
import { WS_DEFAULTS } from './defaults.js'
import { type WsCloseStats, WsTerminatedError } from './errors.js'
import { socketOf } from './internals.js'

// ws's readyState values (the WebSocket standard's): read as numbers, so that nothing of ws is imported.
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

type Listener = (...args: never[]) => void

/**
 * What `closeWebSockets` uses of a ws `WebSocket` (ws's class, or one extending it): `readyState`,
 * `bufferedAmount`, `close()`, `terminate()` and its events.
 */
export interface WebSocketLike {
  readonly readyState: number
  readonly bufferedAmount: number
  close(code?: number, reason?: string): void
  terminate(): void
  on(event: string, listener: Listener): unknown
  once(event: string, listener: Listener): unknown
  removeAllListeners(event?: string): unknown
}

/**
 * What `closeWebSockets` uses of a ws `WebSocketServer` (ws 8): `clients` (with `clientTracking`, its
 * default), `options`, `close()` (only for a server listening on a port of its own) and its `headers` and
 * `connection` events.
 */
export interface WebSocketServerLike {
  readonly clients?: Set<WebSocketLike> | undefined
  readonly options?: { port?: number | null | undefined; clientTracking?: boolean | undefined } | undefined
  handleUpgrade(...args: never[]): unknown
  close(callback?: (error?: Error) => void): unknown
  on(event: string, listener: Listener): unknown
  off(event: string, listener: Listener): unknown
}

export interface CloseWebSocketsOptions extends AdapterTaskOptions {
  /** Task name. Default: {@link WS_DEFAULTS}`.name`, numbered for further servers (`ws-close-2`, …). */
  name?: string
  /** When the connections are closed. Default: {@link WS_DEFAULTS}`.phase`. */
  phase?: AdapterTaskOptions['phase']
  /** The task's budget: what is still open at its end is terminated. Default: {@link WS_DEFAULTS}`.timeoutMs`. */
  timeoutMs?: number
  /** Whether terminated connections make the exit code non-zero. Default: {@link WS_DEFAULTS}`.critical`. */
  critical?: boolean
  /**
   * The close code sent: one a server may send (1000–1003, 1007–1014, 3000–4999). Default:
   * {@link WS_DEFAULTS}`.code` (Service Restart); 1001 (Going Away) for clients that know only that one.
   */
  code?: number
  /** The close reason, at most 123 bytes of UTF-8. Default: {@link WS_DEFAULTS}`.reason`. */
  reason?: string
  /** The window the closes are spread evenly over, shortened to fit the budget. Default: {@link WS_DEFAULTS}`.spreadMs`. */
  spreadMs?: number
  /** Time kept at the end of the budget for the last close handshakes. Default: {@link WS_DEFAULTS}`.handshakeMs`. */
  handshakeMs?: number
  /**
   * A client message arriving after its connection's close frame was sent: `'deliver'` it to the application
   * (ws's behaviour; it can no longer be answered) or `'drop'` it (so that an unanswered message was not
   * processed either). Default: {@link WS_DEFAULTS}`.lateMessages`.
   */
  lateMessages?: 'deliver' | 'drop'
}

/**
 * What `closeWebSockets` returns: its {@link Registration} — `name`, `remove()` (unregisters the task and
 * takes its listeners off the server; idempotent), `[Symbol.dispose]` — and what is its own.
 */
export interface WebSocketsClose extends Registration {
  /** Open connections right now (those `clients` holds, or that the adapter saw, without `clientTracking`). */
  connections(): number
  /** What the task did, once it has run. */
  readonly stats: WsCloseStats | undefined
}

/** Every key `CloseWebSocketsOptions` has, for JavaScript callers' typos. */
export const CLOSE_OPTIONS = [...TASK_OPTION_KEYS, 'code', 'reason', 'spreadMs', 'handshakeMs', 'lateMessages'] as const

const WHERE = 'closeWebSockets'

/** Whether a server may send `code` in a close frame (RFC 6455 §7.4; ws refuses the others). */
function sendableCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
  )
}

/**
 * Registers, in the `drain` phase, the lame-duck close of every connection of a ws `WebSocketServer`: instead
 * of being cut (1006) when the process goes, each client is sent a close code that tells it to reconnect —
 * elsewhere, since by then the endpoints no longer list this replica — the closes spread evenly over
 * `spreadMs` so that the clients do not all reconnect to the remaining replicas at once.
 *
 * - Until the drain (the drain delay, while the endpoints propagate) nothing changes: new connections are
 *   accepted and served.
 * - In the drain: existing connections get `close(code, reason)` one after the other across the window
 *   (`spreadMs`, shortened so that `handshakeMs` remain before the deadline); a connection accepted while
 *   the task runs is sent the close at once. The close frame follows whatever the server sent before it
 *   (TCP order; ws ends the socket, never destroys it, once the handshake is done).
 * - The close handshakes are waited for until shortly before the deadline (the task context's `stopAt()`);
 *   connections still open then are terminated, counted (`stats.terminated`, `unsentBytes`), and the task
 *   fails with `WsTerminatedError`.
 *
 * The upgraded sockets are handed over (the kit's `handOverSocket`): the HTTP drain of the same server
 * (`drainHttpServer` of `@lameduck/http`) neither waits for them nor destroys them. A server that listens on
 * a port of its own (`new WebSocketServer({ port })`) is closed at the drain's start: it stops accepting.
 * Call it before the server accepts connections (those accepted earlier are found in `wss.clients`).
 */
export function closeWebSockets(
  shutdown: Shutdown,
  wss: WebSocketServerLike,
  options?: CloseWebSocketsOptions,
): WebSocketsClose {
  requireShutdown(WHERE, shutdown, 'closeWebSockets(shutdown, wss, options?)')
  requireClient(`wss argument of ${WHERE}`, wss, 'a WebSocketServer of ws', ['handleUpgrade', 'on', 'off', 'close'])
  checkOptions(WHERE, options, CLOSE_OPTIONS)
  const o: CloseWebSocketsOptions = options ?? {}
  const task = taskOptions(WHERE, o, WS_DEFAULTS)
  const code = o.code === undefined ? WS_DEFAULTS.code : o.code
  if (typeof code !== 'number' || !Number.isInteger(code) || !sendableCode(code))
    throw new InvalidOptionError(
      `code of ${WHERE}`,
      `expected a close code a server may send (1000–1003, 1007–1014 or 3000–4999; 1012 or 1001 to say "reconnect"); got ${describeValue(code)}`,
    )
  const reason = string(`reason of ${WHERE}`, o.reason, WS_DEFAULTS.reason)
  if (Buffer.byteLength(reason) > 123)
    throw new InvalidOptionError(
      `reason of ${WHERE}`,
      `a close reason holds at most 123 bytes of UTF-8; got ${Buffer.byteLength(reason)}`,
    )
  const spreadMs = duration(`spreadMs of ${WHERE}`, o.spreadMs, WS_DEFAULTS.spreadMs)
  const handshakeMs = duration(`handshakeMs of ${WHERE}`, o.handshakeMs, WS_DEFAULTS.handshakeMs)
  const lateMessages = oneOf(`lateMessages of ${WHERE}`, o.lateMessages, ['deliver', 'drop'], WS_DEFAULTS.lateMessages)

  // Without `clientTracking` the server keeps no `clients`: the adapter keeps its own set then (an entry and a
  // listener per connection); with it, nothing per connection.
  const tracked = wss.clients instanceof Set ? undefined : new Set<WebSocketLike>()
  const clients = (): WebSocketLike[] => [...(wss.clients instanceof Set ? wss.clients : (tracked ?? []))]
  // The HTTP drain reads `active` on each handed-over socket: `false` after remove() gives them back to it.
  const owner = { name: task.name, active: true }
  let stats: WsCloseStats | undefined
  // Set when the task starts: connections accepted from then on are sent the close at once.
  let drain: SpreadClose<WebSocketLike> | undefined

  const onHeaders = (_headers: string[], req: IncomingMessage) => {
    handOverSocket(req.socket, owner)
    // A new WebSocket during the drain delay tells an adaptive delay that the load balancers still send.
    if (!isProbeTraffic(req.headers['user-agent'])) traffic.arrived()
  }
  const onConnection = (ws: WebSocketLike) => {
    if (tracked) {
      tracked.add(ws)
      ws.once('close', () => tracked.delete(ws))
    }
    drain?.accepted(ws)
  }

  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    const present = clients().filter((ws) => ws.readyState === OPEN || ws.readyState === CLOSING)
    for (const ws of present) {
      const socket = socketOf(ws)
      if (socket) handOverSocket(socket, owner)
    }
    const s: WsCloseStats = {
      connectionsAtStart: present.length,
      acceptedDuringDrain: 0,
      closeSent: 0,
      closed: 0,
      terminated: 0,
      unsentBytes: 0,
      lateMessages: 0,
      windowMs: 0,
      durationMs: 0,
    }
    stats = s
    const onLate = () => {
      s.lateMessages++
    }
    const closing = spreadClose<WebSocketLike>({
      stats: s,
      goAway(ws) {
        if (ws.readyState !== OPEN) return
        // From the close frame on, the application can no longer answer: a message arriving now is late.
        if (lateMessages === 'drop') ws.removeAllListeners('message')
        ws.on('message', onLate)
        try {
          ws.close(code, reason)
          s.closeSent++
        } catch {
          // A socket ws cannot write to any more: it is terminated with the rest at the deadline.
        }
      },
      isGone: (ws) => ws.readyState === CLOSED,
      // Every close is heard of: the wait ends with the last one, without polling.
      onWatch: (ws) => ws.once('close', () => closing.gone(ws)),
      cut(ws) {
        s.unsentBytes += ws.bufferedAmount
        ws.terminate()
      },
    })
    drain = closing
    // A server on a port of its own stops accepting (an HTTP server shared with the application is stopped by
    // its own drain). ws's close() closes no connection and waits for all of them: its callback is not awaited.
    if (wss.options?.port != null) wss.close()

    // Until every connection has closed, the deadline passes or the signal aborts.
    const stopAt = context.stopAt()
    if (await closing.spread(present, { spreadMs, reserveMs: handshakeMs, until: stopAt, clock, signal }))
      await closing.settle(stopAt, { clock, signal })
    // What is left — close not completed, or never sent because the budget ran out — is terminated.
    closing.cutRest(clients())
    s.durationMs = Math.round(clock.now() - started)
    if (s.terminated > 0) throw new WsTerminatedError({ ...s })
    shutdown.logger.info(
      { event: 'ws.closed', task: name, ...s },
      `${name}: ${s.closed} WebSocket connection(s) closed with ${code} over ${s.windowMs} ms in ${s.durationMs} ms`,
    )
  }
  const onRemove = () => {
    owner.active = false
    wss.off('headers', onHeaders)
    wss.off('connection', onConnection)
    traffic.remove()
    tracked?.clear()
  }
  const spec = { where: WHERE, task, resource: wss, resourceLabel: 'this WebSocketServer', run, onRemove }
  const registration = registerTask(shutdown, spec)
  const name = registration.name
  owner.name = name
  const traffic = trafficSource(shutdown, name)
  wss.on('headers', onHeaders)
  wss.on('connection', onConnection)
  // Connections accepted before: handed over now, where ws lets their socket be read.
  for (const ws of clients()) {
    const socket = socketOf(ws)
    if (socket) handOverSocket(socket, owner)
  }

  return {
    name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    connections: () => clients().filter((ws) => ws.readyState !== CLOSED).length,
    get stats() {
      return stats
    },
  }
}
