import type { Server } from '@grpc/grpc-js'
import type { Shutdown } from '@lameduck/core'
import { perResource, shadow } from '@lameduck/core/adapter'

// The application's own `server.tryShutdown(callback)`, once a shutdown has begun. It is what every grpc-js
// service does on SIGTERM — `process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)))` — and
// beside lameduck it sent the GOAWAY and stopped accepting at the signal, refusing the clients the endpoints
// still send during the drain delay, and its callback exited the process before flush, release, close and
// report. Once any coordinator draining the server has been triggered, the call joins that run instead: the
// drain does the shutting down in its phase, and the callback comes when the run is over. Before any
// trigger, and once the drain is over (a task of a later phase of the application's own), it is grpc-js's
// own: the application shutting the server down itself (a test), or a server already shut down.

type TryShutdown = Server['tryShutdown']

interface Guard {
  /** grpc-js's own method, for the drain and for calls before any trigger. */
  readonly original: TryShutdown
  /** The coordinators with a drain of this server still to run (one each: the same server twice is refused). */
  readonly coordinators: Set<Shutdown>
  readonly restore: () => void
}

function guard(server: Server): Guard {
  const original = server.tryShutdown
  const coordinators = new Set<Shutdown>()
  const restore = shadow(server, {
    tryShutdown(this: Server, callback: Parameters<TryShutdown>[0]) {
      // A handler of the same signal that runs before the coordinator's: the run starts in the same emit.
      queueMicrotask(() => {
        const triggered = [...coordinators].filter((coordinator) => coordinator.state !== 'running')
        if (triggered.length === 0) {
          original.call(this, callback)
          return
        }
        void Promise.all(triggered.map((coordinator) => coordinator.shutdown('server.tryShutdown()'))).then(() =>
          callback(),
        )
      })
    },
  })
  return { original, coordinators, restore }
}

// One shadow per server, shared by every drain of it (coordinators, copies of this package): shadows stacked
// per drain would put each other back in the wrong order. The last drain removed puts grpc-js's back.
const useGuard = perResource('grpc:try-shutdown:v1', guard, (used) => used.restore())

/**
 * Shadows `server.tryShutdown` while a drain of `shutdown` uses it; returns grpc-js's own, `drained()` for
 * when the drain is over, and the undo.
 */
export function useTryShutdownGuard(
  server: Server,
  shutdown: Shutdown,
): { original: TryShutdown; drained(): void; release(): void } {
  const { value, release } = useGuard(server)
  value.coordinators.add(shutdown)
  return {
    original: value.original,
    drained: () => value.coordinators.delete(shutdown),
    release() {
      value.coordinators.delete(shutdown)
      release()
    },
  }
}
