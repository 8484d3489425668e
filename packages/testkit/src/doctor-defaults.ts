/**
 * What `lameduck-doctor` assumes when a manifest or the plan file leaves something out, in one place: the
 * README states these numbers and a test checks it against this object. Most are Kubernetes' (or a mesh's,
 * or GKE's) own defaults, which a manifest inherits by saying nothing.
 */
export const DOCTOR_DEFAULTS = {
  /** The pod's `terminationGracePeriodSeconds` when the spec has none: Kubernetes' default. */
  terminationGracePeriodSeconds: 30,
  /** A probe's `periodSeconds` and `failureThreshold` when absent: Kubernetes' defaults. */
  probe: { periodSeconds: 10, failureThreshold: 3 },
  /** The plan file's `http` keys that may be left out: `@lameduck/http`'s own paths, over plain HTTP. */
  http: { shutdownPath: '/shutdown', readyPath: '/readyz', livePath: '/healthz', https: false },
} as const

/** Facts of the platforms the checks rest on (not options: nothing sets them). */
export const DOCTOR_FACTS = {
  /** GKE gives an ordinary (non-system) pod on a Spot VM this long when the VM is reclaimed. */
  gkeSpotGraceSeconds: 15,
  /** Istio's `terminationDrainDuration` when `proxy.istio.io/config` does not set it: the sidecar dies 5 s after SIGTERM. */
  istioTerminationDrainMs: 5_000,
  /** Linkerd's `proxy-wait-before-exit-seconds` when absent: its proxy refuses new requests at SIGTERM. */
  linkerdWaitBeforeExitMs: 0,
} as const
