import { ConfigurationError, LameduckError } from '@lameduck/core'

/**
 * The closed catalogue of the error codes `@lameduck/grpc` throws or records:
 * `LAMEDUCK_ERR_GRPC_DRAIN_FORCED` ({@link GrpcDrainForcedError}) and `LAMEDUCK_ERR_GRPC_HEALTH_SERVED`
 * ({@link GrpcHealthServedError}).
 */
export const GRPC_ERROR_CODES = ['LAMEDUCK_ERR_GRPC_DRAIN_FORCED', 'LAMEDUCK_ERR_GRPC_HEALTH_SERVED'] as const

/**
 * The warning codes `@lameduck/grpc` emits through the coordinator (`shutdown.on('warning')` and the log):
 * `LAMEDUCK_WARN_GRPC_INTERNALS` — the server lacks the grpc-js internals the drain reads (another grpc-js
 * version): calls are not counted, the adaptive drain delay hears nothing from it, and a session
 * `forceShutdown()` leaves open cannot be destroyed.
 */
export const GRPC_WARNING_CODES = ['LAMEDUCK_WARN_GRPC_INTERNALS'] as const

/** What the drain of a gRPC server did; see {@link GrpcDrainForcedError} and `GrpcDrain.stats`. */
export interface GrpcDrainStats {
  /** HTTP/2 sessions (client connections) open when the drain started; each was sent GOAWAY. */
  sessionsAtStart: number
  /** Calls in flight when the drain started, health checks and watches left out. */
  callsAtStart: number
  /** `grpc.health.v1.Health/Watch` streams ended (status UNAVAILABLE) once the GOAWAY was sent. */
  watchesEnded: number
  /** Whether `tryShutdown()` had not finished by the force time, so that `forceShutdown()` was called. */
  forced: boolean
  /** Sessions still open at the force time, destroyed. */
  sessionsForced: number
  /** Calls still in flight at the force time: their clients got CANCELLED. */
  callsCut: number
  /** Whether the grpc-js internals were there: without them the counts above are 0. */
  tracked: boolean
  /** How long the drain took, by the coordinator's clock. */
  durationMs: number
}

/** The drain reached its force time with calls or sessions still open, and cut them. */
export class GrpcDrainForcedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_GRPC_DRAIN_FORCED'

  constructor(readonly stats: GrpcDrainStats) {
    super(
      'LAMEDUCK_ERR_GRPC_DRAIN_FORCED',
      stats.tracked
        ? `cut ${stats.callsCut} call(s) and ${stats.sessionsForced} HTTP/2 session(s) still open at the drain ` +
            `deadline (${stats.callsAtStart} call(s) in flight at the GOAWAY, ${stats.durationMs} ms)`
        : `tryShutdown() had not finished at the drain deadline; forceShutdown() cut what was still open (${stats.durationMs} ms)`,
    )
  }
}

/**
 * `drainGrpcServer` with `health: true` (the default) for a server that already has a
 * `grpc.health.v1.Health` service: there can be one only, and the drain could not set it NOT_SERVING.
 */
export class GrpcHealthServedError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_GRPC_HEALTH_SERVED'

  constructor(options?: { cause?: unknown }) {
    super(
      'LAMEDUCK_ERR_GRPC_HEALTH_SERVED',
      'drainGrpcServer: the server already serves grpc.health.v1.Health, so lameduck cannot serve its own. ' +
        "Remove yours (e.g. grpc-health-check's addToServer) and set statuses with the handle's health.setStatus(), " +
        'or pass { health: false } and set your own NOT_SERVING on the trigger.',
      options,
    )
  }
}

/** A code of {@link GRPC_ERROR_CODES}. */
export type GrpcErrorCode = (typeof GRPC_ERROR_CODES)[number]
/** A code of {@link GRPC_WARNING_CODES}. */
export type GrpcWarningCode = (typeof GRPC_WARNING_CODES)[number]
