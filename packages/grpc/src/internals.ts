import type { Http2SecureServer, Http2Server, ServerHttp2Session } from 'node:http2'
import type { Server } from '@grpc/grpc-js'

// Every read of grpc-js's private internals, in one file: what each relies on (grpc-js 1.10 to 1.14), how
// it is detected, and what happens when a version no longer has it. The rest of the package uses the
// public API (`tryShutdown`, `forceShutdown`, `addService`, `removeService`).
//
// grpc-js runs one node:http2 server per bound address and keeps them, each with the set of its sessions,
// in the private Map `http2Servers` (filled by `bindAsync` and by connection injectors). The drain needs
// them for three things the public API does not give:
// - the calls in flight, as HTTP/2 streams (a `stream` listener on each server): the adaptive drain delay
//   hears of new calls, and the drain can tell a finished drain from a `tryShutdown()` that never calls back;
// - the sessions, to destroy at the deadline: `forceShutdown()` only destroys those it knows through
//   channelz, and with `grpc.enable_channelz: 0` it knows none — the sessions, and the calls on them, stay
//   open (measured on grpc-js 1.14.7: an open server stream survived forceShutdown(), and tryShutdown()
//   never called back);
// - when a server is created, so that its streams are seen from the first one: `http2Servers.set` is
//   wrapped on the instance (grpc-js calls it in the `listen` callback, before any connection is accepted);
// - a server created once the drain has begun (a `bindAsync()` still in progress at the drain: tryShutdown()
//   does not cancel it, and the port opened after it was served after the drain), to close at once, with
//   grpc-js's private `closeServer(http2Server)` (which also takes it out of the map and channelz), or
//   without it `close()` and the map entry deleted.

export type AnyHttp2Server = Http2Server | Http2SecureServer

interface ServerInternals {
  http2Servers: Map<AnyHttp2Server, { sessions?: unknown }>
  closeServer?: unknown
}

/** What the drain can see of a grpc-js server beyond its public API. */
export interface ServerControl {
  /** Whether grpc-js's internals were found; without them every list below is empty. */
  readonly complete: boolean
  /** The HTTP/2 servers grpc-js runs for this server now. */
  http2Servers(): AnyHttp2Server[]
  /** The HTTP/2 sessions (client connections) open now. */
  sessions(): ServerHttp2Session[]
  /** Calls `listener` with each HTTP/2 server grpc-js creates from now on; returns the undo. */
  onHttp2Server(listener: (http2Server: AnyHttp2Server) => void): () => void
  /** Stops one of its HTTP/2 servers accepting, as grpc-js's own shutdown does. */
  closeHttp2Server(http2Server: AnyHttp2Server): void
}

function internalsOf(server: Server): ServerInternals | undefined {
  const s = server as unknown as Partial<ServerInternals>
  return s.http2Servers instanceof Map ? (s as ServerInternals) : undefined
}

const none = (): never[] => []

/** The {@link ServerControl} of `server`: through grpc-js's internals when it has them, else nothing. */
export function serverControl(server: Server): ServerControl {
  const internals = internalsOf(server)
  if (internals === undefined)
    return {
      complete: false,
      http2Servers: none,
      sessions: none,
      onHttp2Server: () => () => {},
      closeHttp2Server: () => {},
    }
  const map = internals.http2Servers
  return {
    complete: true,
    closeHttp2Server(http2Server) {
      if (typeof internals.closeServer === 'function') internals.closeServer.call(server, http2Server)
      else http2Server.close(() => map.delete(http2Server))
    },
    http2Servers: () => [...map.keys()],
    sessions() {
      const sessions: ServerHttp2Session[] = []
      for (const { sessions: set } of map.values())
        if (set instanceof Set) for (const session of set as Set<ServerHttp2Session>) sessions.push(session)
      return sessions
    },
    onHttp2Server(listener) {
      const own = Object.getOwnPropertyDescriptor(map, 'set')
      const set = map.set
      const wrapped = function (this: typeof map, key: AnyHttp2Server, value: { sessions?: unknown }) {
        const known = map.has(key)
        const result = set.call(this, key, value)
        if (!known) listener(key)
        return result
      }
      Object.defineProperty(map, 'set', { value: wrapped, configurable: true, writable: true })
      return () => {
        if (map.set !== wrapped) return
        if (own) Object.defineProperty(map, 'set', own)
        else delete (map as { set?: unknown }).set
      }
    },
  }
}
