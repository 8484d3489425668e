import { LameduckError } from '@lameduck/core'

/**
 * The closed catalogue of the error codes `@lameduck/testkit` throws: why a simulation could not run to the
 * end. Wrong options are refused with `@lameduck/core`'s codes instead (`LAMEDUCK_ERR_INVALID_DURATION`, …),
 * the same code for the same mistake as in every package. docs/errors.md lists them, kept in sync by a test.
 */
export const TESTKIT_ERROR_CODES = [
  'LAMEDUCK_ERR_SIM_COMMAND_NOT_FOUND',
  'LAMEDUCK_ERR_SIM_EXITED_AT_START',
  'LAMEDUCK_ERR_SIM_NEVER_LISTENED',
  /** With `readinessPath`: a replica listened but its readiness path never answered 200 within `startupTimeout`. */
  'LAMEDUCK_ERR_SIM_NEVER_READY',
  'LAMEDUCK_ERR_SIM_PORT_IN_USE',
  'LAMEDUCK_ERR_SIM_REPLICA_CRASHED',
  'LAMEDUCK_ERR_SIM_ABORTED',
  'LAMEDUCK_ERR_SIM_SIGNAL_FAILED',
  // lameduck-doctor: input it cannot check (see DoctorError).
  'LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT',
  'LAMEDUCK_ERR_DOCTOR_INVALID_YAML',
  'LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST',
  'LAMEDUCK_ERR_DOCTOR_NO_WORKLOADS',
  'LAMEDUCK_ERR_DOCTOR_INVALID_PLAN',
] as const

/** The code of a {@link SimulatorError}: the same as {@link TestkitErrorCode}. */
export type SimulatorErrorCode = TestkitErrorCode

/** The warning codes `@lameduck/testkit` emits: none (what would bite in a cluster is in `result.warnings`). */
export const TESTKIT_WARNING_CODES = [] as const

/** Why a simulation could not run to the end. The message says what to do about it. */
export class SimulatorError extends LameduckError {
  declare readonly code: TestkitErrorCode

  constructor(
    code: TestkitErrorCode,
    message: string,
    /** The replica's last output lines, when a replica is to blame. */
    readonly output: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
  }
}

/** A code of {@link TESTKIT_ERROR_CODES}. */
export type TestkitErrorCode = (typeof TESTKIT_ERROR_CODES)[number]
/** A code of {@link TESTKIT_WARNING_CODES}: there is none. */
export type TestkitWarningCode = (typeof TESTKIT_WARNING_CODES)[number]
