/**
 * Every default of `@lameduck/grpc`, in one place: the README's option table is checked against it by a
 * test, and the TSDoc of each option refers to it instead of repeating the number.
 */
export const GRPC_DEFAULTS = {
  /** `drainGrpcServer`'s task. */
  drain: {
    /** The first drain of a coordinator; further ones are numbered: `grpc-drain-2`, `grpc-drain-3`, … */
    name: 'grpc-drain',
    phase: 'drain',
    /** In-flight calls get this long after the GOAWAY; what is still open then is cut. */
    timeoutMs: 10_000,
    /** Calls cut at the drain deadline: the exit code says so. */
    critical: true,
  },
  /** Serve `grpc.health.v1.Health` (the kubelet's `grpc` probe, Envoy, grpc_health_probe) on the server. */
  health: true,
  /** How often the drain checks whether every session has closed. */
  pollMs: 10,
} as const
