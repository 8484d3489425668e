import {
  checkManifests,
  type DOCTOR_FINDING_CODES,
  DoctorError,
  type DoctorErrorCode,
  type DoctorFinding,
  type DoctorFindingCode,
  type DoctorPlan,
  type DoctorResult,
  doctorMain,
  doctorPlan,
  type TestkitErrorCode,
  writeDoctorPlan,
} from '@lameduck/testkit'
import { describe, expectTypeOf, it } from 'vitest'

describe('public types of lameduck-doctor', () => {
  it('checkManifests takes sources and options and returns the result; the plan helpers', () => {
    expectTypeOf(checkManifests).returns.toEqualTypeOf<DoctorResult>()
    expectTypeOf<DoctorResult['findings']>().toEqualTypeOf<DoctorFinding[]>()
    expectTypeOf<DoctorFinding['code']>().toEqualTypeOf<DoctorFindingCode>()
    expectTypeOf(doctorPlan).returns.toEqualTypeOf<DoctorPlan>()
    expectTypeOf(writeDoctorPlan).returns.resolves.toEqualTypeOf<DoctorPlan>()
    expectTypeOf(doctorMain).returns.resolves.toBeNumber()
    expectTypeOf<DoctorPlan['plan']['drainDelay']>().toEqualTypeOf<
      { minMs: number; maxMs: number; quietMs: number } | undefined
    >()
    // @ts-expect-error the port is required
    void doctorPlan({} as never, {})
  })

  it('codes: findings are a closed catalogue; the doctor’s errors are the testkit’s LAMEDUCK_ERR_DOCTOR_* codes', () => {
    expectTypeOf<(typeof DOCTOR_FINDING_CODES)[number]>().toEqualTypeOf<DoctorFindingCode>()
    expectTypeOf<'LAMEDUCK_DOCTOR_PDB_MISSING'>().toExtend<DoctorFindingCode>()
    expectTypeOf<'LAMEDUCK_DOCTOR_NOPE'>().not.toExtend<DoctorFindingCode>()
    expectTypeOf<DoctorErrorCode>().toExtend<TestkitErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_DOCTOR_INVALID_PLAN'>().toExtend<DoctorErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_SIM_ABORTED'>().not.toExtend<DoctorErrorCode>()
    expectTypeOf(new DoctorError('LAMEDUCK_ERR_DOCTOR_INVALID_YAML', 'x').code).toEqualTypeOf<DoctorErrorCode>()
    // @ts-expect-error a simulator code is not the doctor's
    new DoctorError('LAMEDUCK_ERR_SIM_ABORTED', 'x')
  })
})
