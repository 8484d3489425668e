import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js'
import { oneOf, perResource, string } from '@lameduck/core/adapter'
import { HealthImplementation, service as healthService } from 'grpc-health-check'
import { GrpcHealthServedError } from './errors.js'

// The standard health service, `grpc.health.v1.Health` — what the kubelet's `grpc` probe, Envoy and
// grpc_health_probe ask — served by grpc-health-check's implementation, the official one. lameduck adds the
// lame duck to it, as grpc-go's health server does with `Shutdown()`: from the trigger on, every service
// answers NOT_SERVING and later status changes are recorded but not served. Watch streams are told at once;
// they never end on their own (a subscription, not a call), so the drain ends them once the GOAWAY is out.
// Before that, as `/readyz` does, it answers NOT_SERVING while the coordinator's start-up
// (`shutdown.startup`) is not done — pending, or failed for good — and the statuses set meanwhile are served
// once it is.

/** A health status of `grpc.health.v1`, as grpc-health-check names them. */
export type GrpcServingStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN'

/** The health service of a drained server: what the handle's `health` is. */
export interface GrpcHealth {
  /**
   * Sets what `Check` (and `Watch`) answer for `service` (`''`: the server as a whole, what probes ask by
   * default; it starts `SERVING`). Until start-up is done (`shutdown.startup`), and from the trigger on,
   * every service answers `NOT_SERVING`, whatever is set.
   */
  setStatus(service: string, status: GrpcServingStatus): void
  /** What a `Check` of `service` answers now; `undefined` for a service never set (the answer is NOT_FOUND). */
  status(service: string): GrpcServingStatus | undefined
}

/** The statuses `setStatus` takes: grpc-health-check would serve any other string as UNKNOWN. */
const STATUSES = ['SERVING', 'NOT_SERVING', 'UNKNOWN'] as const satisfies readonly GrpcServingStatus[]

/** The status code a Watch stream ends with at the drain: UNAVAILABLE, as for a server going away. */
const UNAVAILABLE = 14

interface WatchCall {
  emit(event: 'error', error: { code: number; details: string }): boolean
  once(event: string, listener: () => void): unknown
}

/** One health service per grpc-js server, whatever the number of drains (coordinators, copies) using it. */
class ServedHealth implements GrpcHealth {
  readonly #implementation = new HealthImplementation({ '': 'SERVING' })
  readonly #statuses = new Map<string, GrpcServingStatus>([['', 'SERVING']])
  readonly #watches = new Set<WatchCall>()
  /** One per drain using this server: false while its coordinator's start-up is not done. */
  readonly #gates = new Set<() => boolean>()
  #lameDuck = false

  constructor(readonly server: Server) {
    const watches = this.#watches
    // Added through a stand-in for the server, so that the Watch handler can be wrapped: the drain must be
    // able to end the streams it opens.
    this.#implementation.addToServer({
      addService(service, implementation) {
        const watch = implementation.watch as (call: WatchCall) => void
        const wrapped: UntypedServiceImplementation = {
          ...(implementation as UntypedServiceImplementation),
          watch: (call: WatchCall) => {
            watches.add(call)
            const forget = () => watches.delete(call)
            call.once('cancelled', forget)
            call.once('finish', forget)
            watch(call)
          },
        }
        try {
          server.addService(service as unknown as ServiceDefinition, wrapped)
        } catch (error) {
          throw new GrpcHealthServedError({ cause: error })
        }
      },
    })
  }

  setStatus(service: string, status: GrpcServingStatus): void {
    // For JavaScript callers: a typo ('serving') would be served as UNKNOWN, and the probes fail with it.
    string('service of health.setStatus of drainGrpcServer', service)
    oneOf('status of health.setStatus of drainGrpcServer', status, STATUSES)
    this.#statuses.set(service, status)
    this.#implementation.setStatus(service, this.#served(status))
  }

  status(service: string): GrpcServingStatus | undefined {
    const status = this.#statuses.get(service)
    return status === undefined ? undefined : this.#served(status)
  }

  /** What is served for a status set: NOT_SERVING in the lame duck, or while a start-up is not done. */
  #served(status: GrpcServingStatus): GrpcServingStatus {
    if (this.#lameDuck) return 'NOT_SERVING'
    for (const open of this.#gates) if (!open()) return 'NOT_SERVING'
    return status
  }

  /** Holds every service at NOT_SERVING while `open()` is false; `refresh()` when it may have changed. */
  addGate(open: () => boolean): () => void {
    this.#gates.add(open)
    this.refresh()
    return () => {
      this.#gates.delete(open)
      this.refresh()
    }
  }

  /** Serves what each service's status is now (grpc-health-check tells the watchers of those that changed). */
  refresh(): void {
    if (this.#lameDuck) return
    for (const [service, status] of this.#statuses) this.#implementation.setStatus(service, this.#served(status))
  }

  /** The trigger: every service known answers NOT_SERVING from now on; watchers are told. */
  enterLameDuck(): void {
    if (this.#lameDuck) return
    this.#lameDuck = true
    for (const service of this.#statuses.keys()) this.#implementation.setStatus(service, 'NOT_SERVING')
  }

  /** The drain: ends every Watch stream with UNAVAILABLE; returns how many. */
  endWatches(): number {
    const open = [...this.#watches]
    this.#watches.clear()
    for (const call of open) call.emit('error', { code: UNAVAILABLE, details: 'the server is shutting down' })
    return open.length
  }

  remove(): void {
    this.server.removeService(healthService as unknown as ServiceDefinition)
  }
}

// Shared by every copy of this package in the process (ESM and CommonJS side by side): one health service
// per server, however many drains; added to it by the first user, taken off with the last.
export const useHealth = perResource(
  'grpc:health:v1',
  (server: Server) => new ServedHealth(server),
  (health) => health.remove(),
)
