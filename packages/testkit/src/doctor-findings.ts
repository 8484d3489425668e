/**
 * The closed catalogue of what `lameduck-doctor` finds in manifests. A finding is not an error the package
 * throws (those are `LAMEDUCK_ERR_DOCTOR_*`, bad input): it is a line of a manifest that would bite in a
 * cluster, with its fix. The codes are stable: gate CI on them, or pass `--ignore <code>`. The README's
 * table lists them, checked by a test.
 */
export const DOCTOR_FINDING_CODES = [
  'LAMEDUCK_DOCTOR_GRACE_TOO_SHORT',
  'LAMEDUCK_DOCTOR_GRACE_MISMATCH',
  'LAMEDUCK_DOCTOR_PRESTOP_MISSING',
  'LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET',
  'LAMEDUCK_DOCTOR_PRESTOP_HTTPS_ON_HTTP',
  'LAMEDUCK_DOCTOR_TOKEN_IN_SPEC',
  'LAMEDUCK_DOCTOR_NODE_NOT_PID1',
  'LAMEDUCK_DOCTOR_READINESS_SLOWER_THAN_DRAIN',
  'LAMEDUCK_DOCTOR_LIVENESS_ON_READINESS',
  'LAMEDUCK_DOCTOR_PDB_MISSING',
  'LAMEDUCK_DOCTOR_SIDECAR_DRAIN_TOO_SHORT',
  'LAMEDUCK_DOCTOR_SPOT_GRACE_TOO_LONG',
] as const

/** A code of {@link DOCTOR_FINDING_CODES}. */
export type DoctorFindingCode = (typeof DOCTOR_FINDING_CODES)[number]

/** Checks that compare the manifests with the plan's numbers or endpoint: they do not run without one. */
export const DOCTOR_PLAN_ONLY: readonly DoctorFindingCode[] = [
  'LAMEDUCK_DOCTOR_GRACE_TOO_SHORT',
  'LAMEDUCK_DOCTOR_READINESS_SLOWER_THAN_DRAIN',
  'LAMEDUCK_DOCTOR_SIDECAR_DRAIN_TOO_SHORT',
]

/**
 * Checks of which a part needs the plan: the preStop's path and port (its host, an unknown port name and a
 * hook that calls nothing are found without), the grace the service was told when no
 * `TERMINATION_GRACE_PERIOD_SECONDS` is in the container's env, and liveness on the plan's readiness path
 * (on the readiness probe's path is found without).
 */
export const DOCTOR_PLAN_PARTLY: readonly DoctorFindingCode[] = [
  'LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET',
  'LAMEDUCK_DOCTOR_GRACE_MISMATCH',
  'LAMEDUCK_DOCTOR_LIVENESS_ON_READINESS',
]

/** One thing wrong in a manifest: where, what, and what to write instead. */
export interface DoctorFinding {
  code: DoctorFindingCode
  /** The file as given (a path under a folder for a folder), `<stdin>` for `-`. */
  file: string
  /** 1-based line of the key the finding is about (or of the object it is missing from). */
  line: number
  /** 1-based column of that key. */
  column: number
  /** `Kind/name` of the object, with `namespace/` in front when it has one. */
  object: string
  /** The container the finding is about, when it is about one. */
  container?: string
  /** What is wrong and what it does in a cluster, with the numbers. */
  message: string
  /** What to write instead. */
  fix: string
}
