import type { ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { Socket } from 'node:net'
import type { Phase, Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  describeArgument,
  duration,
  handOverSocket,
  InvalidOptionError,
  poll,
  registerTask,
  requireShutdown,
  type SpreadClose,
  spreadClose,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from './defaults.js'
import { useTracker } from './drain.js'
import { type EventStreamStats, EventStreamsTerminatedError } from './errors.js'
import { headerBlock, internals } from './internals.js'
import type { AnyServer } from './tracker.js'
import { requireServer } from './validate.js'

/** A response an event stream is written on: HTTP/1 (`ServerResponse`, Express's `res`, Fastify's `reply.raw`) or HTTP/2. */
export type EventStreamResponse = ServerResponse | Http2ServerResponse

export interface CloseEventStreamsOptions extends AdapterTaskOptions {
  /** Task name. Default: {@link HTTP_DEFAULTS}`.eventStreams.name`, numbered for further servers (`sse-close-2`, …). */
  name?: string
  /** When the streams are ended: with the server's drain. Default: {@link HTTP_DEFAULTS}`.eventStreams.phase`. */
  phase?: Phase
  /** The task's budget: what is still open at its end is destroyed. Default: {@link HTTP_DEFAULTS}`.eventStreams.timeoutMs`. */
  timeoutMs?: number
  /** Whether destroyed streams make the exit code non-zero. Default: {@link HTTP_DEFAULTS}`.eventStreams.critical`. */
  critical?: boolean
  /** The window the ends are spread evenly over, shortened to fit the budget. Default: {@link HTTP_DEFAULTS}`.eventStreams.spreadMs`. */
  spreadMs?: number
  /** Time kept at the end of the budget for the last streams to be flushed. Default: {@link HTTP_DEFAULTS}`.eventStreams.handshakeMs`. */
  handshakeMs?: number
  /** The `retry:` hint each stream is ended with, in ms (`0`: reconnect at once). Default: {@link HTTP_DEFAULTS}`.eventStreams.retryMs`. */
  retryMs?: number
}

/** What `add(res)` returns: `remove()` (and `[Symbol.dispose]`) leaves that stream to the application again. */
export interface EventStream {
  /** Idempotent; does nothing once the stream has been ended. */
  remove(): void
  [Symbol.dispose](): void
}

/**
 * What `closeEventStreams` returns: its {@link Registration} — `name`, `remove()` (unregisters the task;
 * idempotent), `[Symbol.dispose]` — and what is its own.
 */
export interface EventStreamsClose extends Registration {
  /**
   * Takes charge of a stream the server would not recognise as one (another `Content-Type`), or that is on
   * another server: ended with the others at the drain, at once if the drain has begun. The same response twice
   * gives the same handle.
   */
  add(res: EventStreamResponse): EventStream
  /** Event streams in flight right now: those found on the server, and those added. */
  streams(): number
  /** What the task did, once it has run. */
  readonly stats: EventStreamStats | undefined
}

/** Every key `CloseEventStreamsOptions` has, for JavaScript callers' typos. */
export const EVENT_STREAMS_OPTIONS = [...TASK_OPTION_KEYS, 'spreadMs', 'handshakeMs', 'retryMs'] as const

const WHERE = 'closeEventStreams'
const EVENT_STREAM = /\r\ncontent-type:[ \t]*text\/event-stream/i

function isHttp2(res: EventStreamResponse): res is Http2ServerResponse {
  return (res as Http2ServerResponse).stream !== undefined
}

/** What `add()` writes on a response with. */
const RESPONSE_METHODS = ['write', 'end', 'writeHead'] as const

function isResponse(value: unknown): value is EventStreamResponse {
  const res = value as Partial<ServerResponse> | null
  return (
    res !== null && typeof res === 'object' && RESPONSE_METHODS.every((method) => typeof res[method] === 'function')
  )
}

/** Whether `res` is an event stream: `Content-Type: text/event-stream`, its headers sent. */
function isEventStream(res: EventStreamResponse): boolean {
  if (!res.headersSent) return false
  const block = !isHttp2(res) && internals().responseFlags ? headerBlock(res) : undefined
  if (block !== undefined) return EVENT_STREAM.test(block)
  const type = res.getHeader('content-type')
  return typeof type === 'string' && /^text\/event-stream/i.test(type)
}

/** One stream the task answers for. */
interface Stream {
  readonly res: EventStreamResponse
  /** The HTTP/1 socket under it (an HTTP/2 stream's session is the drain's). */
  readonly socket: Socket | undefined
  /** Whether the task answers for it: `false` after its handle's or the registration's remove(). */
  active: boolean
  ended: boolean
  handle: EventStream
}

/**
 * Registers, in the `drain` phase, the end of every Server-Sent Events stream of `server`: instead of being
 * waited for until the HTTP drain's deadline and then cut, each stream is sent a `retry: <retryMs>` hint and
 * ended cleanly — every event written before it flushed first — and its connection closed after it, so that the
 * EventSource reconnects, `retryMs` later, on a new connection the endpoints route to another replica. The ends
 * are spread evenly over `spreadMs`, and so the reconnects.
 *
 * Streams are the server's in-flight responses whose `Content-Type` is `text/event-stream` (found through the
 * connection tracking the server's drain uses: nothing per request), plus those given to `add(res)`. Until
 * the drain nothing changes. In the drain, the streams' sockets are handed over (the kit's `handOverSocket`):
 * `drainHttpServer` of the same server neither waits for them nor destroys them. A stream that starts while
 * the task runs is ended at once. What is still open shortly before the deadline is destroyed, counted, and
 * the task fails with `EventStreamsTerminatedError`. Call it before the server listens, as `drainHttpServer`.
 */
export function closeEventStreams(
  shutdown: Shutdown,
  server: AnyServer,
  options?: CloseEventStreamsOptions,
): EventStreamsClose {
  requireShutdown(WHERE, shutdown, 'closeEventStreams(shutdown, server, options?)')
  requireServer(WHERE, server)
  checkOptions(WHERE, options, EVENT_STREAMS_OPTIONS)
  const o: CloseEventStreamsOptions = options ?? {}
  const defaults = HTTP_DEFAULTS.eventStreams
  const task = taskOptions(WHERE, o, defaults)
  const spreadMs = duration(`spreadMs of ${WHERE}`, o.spreadMs, defaults.spreadMs)
  const handshakeMs = duration(`handshakeMs of ${WHERE}`, o.handshakeMs, defaults.handshakeMs)
  const retryMs = duration(`retryMs of ${WHERE}`, o.retryMs, defaults.retryMs)

  /** Every stream the task answers for, by response. */
  const streams = new Map<EventStreamResponse, Stream>()
  let registered = true
  let stats: EventStreamStats | undefined
  // Set when the task starts: streams from then on are ended at once.
  let drain: SpreadClose<Stream> | undefined

  const manage = (res: EventStreamResponse): Stream => {
    const known = streams.get(res)
    if (known) return known
    const socket = isHttp2(res) ? undefined : ((res.socket ?? undefined) as Socket | undefined)
    const stream: Stream = {
      res,
      socket,
      active: true,
      ended: false,
      handle: {
        remove: () => {
          if (stream.ended) return
          stream.active = false
          streams.delete(res)
          drain?.forget(stream)
        },
        [Symbol.dispose]: () => stream.handle.remove(),
      },
    }
    streams.set(res, stream)
    res.once('close', () => {
      if (streams.get(res) === stream && !drain) streams.delete(res)
    })
    // The HTTP drain leaves the socket to this task while the stream is its.
    if (socket)
      handOverSocket(socket, {
        name,
        get active() {
          return registered && stream.active
        },
      })
    drain?.accepted(stream)
    return stream
  }

  /** Takes charge of the event streams in flight on the server it does not know yet. */
  const scan = () => {
    for (const res of tracker.inFlight()) if (!streams.has(res) && isEventStream(res)) manage(res)
  }

  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const started = clock.now()
    scan()
    const present = [...streams.values()].filter((stream) => stream.active)
    const s: EventStreamStats = {
      streamsAtStart: present.length,
      acceptedDuringDrain: 0,
      ended: 0,
      closed: 0,
      terminated: 0,
      unsentBytes: 0,
      lateWrites: 0,
      windowMs: 0,
      durationMs: 0,
    }
    stats = s
    const closing = spreadClose<Stream>({
      stats: s,
      goAway(stream) {
        if (!stream.active || stream.ended) return
        stream.ended = true
        const { res, socket } = stream
        // Node reports a write after the end as an 'error' on the response, which, unheard, would crash the
        // process: the application's timer writing its next event is told through its write callback instead.
        res.on('error', () => {
          s.lateWrites++
        })
        // Ended by the application already: an ordinary response now, its socket the HTTP drain's again.
        if (res.writableEnded || res.destroyed) {
          stream.active = false
          closing.forget(stream)
          return
        }
        ;(res as ServerResponse).write(`retry: ${retryMs}\n\n`)
        // The end follows every event written before it (TCP order); the connection closes after it, so that
        // the reconnect does not come back on it (a kept-alive connection stays pinned to this replica).
        ;(res as ServerResponse).end(() => socket?.end())
        s.ended++
      },
      // A stream is done once its connection has closed (HTTP/1), or its HTTP/2 stream has.
      isGone: (stream) => (stream.socket ? stream.socket.destroyed : (stream.res as Http2ServerResponse).stream.closed),
      cut(stream) {
        s.unsentBytes += stream.socket?.writableLength ?? 0
        if (stream.socket) stream.socket.destroy()
        else (stream.res as Http2ServerResponse).stream.close()
      },
    })
    drain = closing
    const stopAt = context.stopAt()
    const sweep = { everyMs: HTTP_DEFAULTS.sweepMs, until: stopAt, clock, signal }
    // Streams starting from now on (a request on a kept-alive connection) are looked for every sweep, the
    // window included, and ended as soon as they are seen.
    let over = false
    const looking = poll(() => {
      scan()
      return over
    }, sweep)
    // Until every stream has closed (those starting meanwhile too), the deadline passes or the signal aborts.
    if (await closing.spread(present, { spreadMs, reserveMs: handshakeMs, until: stopAt, clock, signal }))
      await poll(() => {
        scan()
        return closing.allGone()
      }, sweep)
    over = true
    await looking
    closing.cutRest()
    s.durationMs = Math.round(clock.now() - started)
    if (s.terminated > 0) throw new EventStreamsTerminatedError({ ...s })
    shutdown.logger.info(
      { event: 'http.event-streams.closed', task: name, ...s },
      `${name}: ${s.ended} event stream(s) ended with retry: ${retryMs} over ${s.windowMs} ms in ${s.durationMs} ms`,
    )
  }
  const onRemove = () => {
    registered = false
    release()
  }
  const spec = { where: WHERE, task, resource: server, resourceLabel: 'this server', run, onRemove }
  const registration = registerTask(shutdown, spec)
  const name = registration.name
  const { value: tracker, release } = useTracker(server)

  return {
    name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    add(res) {
      if (!isResponse(res))
        throw new InvalidOptionError(
          `res argument of add() of ${WHERE}`,
          `expected the response the event stream is written on (a ServerResponse); got ${describeArgument(res)}`,
        )
      return manage(res).handle
    },
    streams: () => {
      const open = new Set<EventStreamResponse>()
      for (const res of tracker.inFlight()) if (isEventStream(res)) open.add(res)
      for (const [res, stream] of streams) if (stream.active && !res.writableEnded) open.add(res)
      return open.size
    },
    get stats() {
      return stats
    },
  }
}
