import { LameduckError } from '@lameduck/core'
import type { TestkitErrorCode } from './errors.js'

/** The codes of {@link DoctorError}: the `LAMEDUCK_ERR_DOCTOR_*` part of `TESTKIT_ERROR_CODES`. */
export type DoctorErrorCode = Extract<TestkitErrorCode, `LAMEDUCK_ERR_DOCTOR_${string}`>

/**
 * Input `lameduck-doctor` cannot check (its exit code 2): a file it cannot read, YAML that does not parse, a
 * manifest Kubernetes would refuse where a check reads it, no workload at all, or a plan file that is not
 * what `writeDoctorPlan` writes. The message names the file (and line) and what is wrong. Findings are not
 * errors: they are the result.
 */
export class DoctorError extends LameduckError {
  declare readonly code: DoctorErrorCode

  constructor(code: DoctorErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
