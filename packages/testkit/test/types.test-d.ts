import type { LameduckErrorCode } from '@lameduck/core'
import {
  type Duration,
  type ExecHookResult,
  formatResult,
  type LameduckTimeline,
  main,
  parseDuration,
  type Readiness,
  SIM_DEFAULTS,
  type SimulationOptions,
  type SimulationProgress,
  type SimulationResult,
  SimulatorError,
  type SimulatorErrorCode,
  simulateTermination,
  type TESTKIT_ERROR_CODES,
  type TESTKIT_WARNING_CODES,
  type TestkitErrorCode,
  type TestkitWarningCode,
} from '@lameduck/testkit'
import { describe, expectTypeOf, it } from 'vitest'

describe('public types of @lameduck/testkit', () => {
  it('simulateTermination takes the options and resolves to the result', () => {
    expectTypeOf(simulateTermination).parameter(0).toEqualTypeOf<SimulationOptions>()
    expectTypeOf(simulateTermination).returns.resolves.toEqualTypeOf<SimulationResult>()
    expectTypeOf<Duration>().toEqualTypeOf<number | string>()
    expectTypeOf<SimulationOptions['grace']>().toEqualTypeOf<Duration | undefined>()
    expectTypeOf<SimulationOptions['preStopPort']>().toEqualTypeOf<number | 'port' | 'admin' | undefined>()
    expectTypeOf<SimulationResult['lameduck']>().toEqualTypeOf<LameduckTimeline | null>()
    expectTypeOf<SimulationOptions['churn']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<SimulationOptions['preStopScheme']>().toEqualTypeOf<'http' | 'https' | undefined>()
    expectTypeOf<SimulationOptions['preStopExec']>().toEqualTypeOf<readonly string[] | undefined>()
    expectTypeOf<SimulationResult['preStopExec']>().toEqualTypeOf<ExecHookResult | null>()
    expectTypeOf<SimulationResult['config']['churn']>().toEqualTypeOf<number | null>()
    expectTypeOf<SimulationOptions['readinessPath']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<SimulationResult['readiness']>().toEqualTypeOf<Readiness | null>()
    expectTypeOf<Readiness['readyAfterMs']>().toEqualTypeOf<{ A: number; B: number }>()
    expectTypeOf<SimulationResult['load']['connections']>().toBeNumber()
    expectTypeOf(SIM_DEFAULTS.kubeletVersion).toEqualTypeOf<'1.31'>()
    expectTypeOf<SimulationProgress['stage']>().toEqualTypeOf<'warmup' | 'terminating' | 'tail'>()
    expectTypeOf(formatResult).parameter(0).toEqualTypeOf<SimulationResult>()
    expectTypeOf(main).returns.resolves.toBeNumber()
    expectTypeOf(parseDuration).returns.toBeNumber()
    expectTypeOf(SIM_DEFAULTS.concurrency).toEqualTypeOf<64>()
    // @ts-expect-error the command is required
    void simulateTermination({ grace: '5s' })
    // @ts-expect-error an option of another function (the CLI's flag, the core's unit)
    void simulateTermination({ command: ['node'], graceMs: 5000 })
    // @ts-expect-error a signal is a signal name
    void simulateTermination({ command: ['node'], signal: 'TERM' })
  })

  it('error and warning codes: a closed catalogue, inside the shape of every lameduck code', () => {
    expectTypeOf<(typeof TESTKIT_ERROR_CODES)[number]>().toEqualTypeOf<TestkitErrorCode>()
    expectTypeOf<SimulatorErrorCode>().toEqualTypeOf<TestkitErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_SIM_ABORTED'>().toExtend<TestkitErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_SIM_NEVER_READY'>().toExtend<TestkitErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_SIM_NO_SUCH_THING'>().not.toExtend<TestkitErrorCode>()
    expectTypeOf<'not a code'>().not.toExtend<TestkitErrorCode>()
    // Core's codes are core's: a simulator error never carries one.
    expectTypeOf<'LAMEDUCK_ERR_INVALID_OPTION'>().not.toExtend<TestkitErrorCode>()
    expectTypeOf<TestkitErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<(typeof TESTKIT_WARNING_CODES)[number]>().toEqualTypeOf<TestkitWarningCode>()
    expectTypeOf<TestkitWarningCode>().toBeNever()
    expectTypeOf(new SimulatorError('LAMEDUCK_ERR_SIM_ABORTED', 'x').code).toEqualTypeOf<TestkitErrorCode>()
    expectTypeOf(new SimulatorError('LAMEDUCK_ERR_SIM_ABORTED', 'x').output).toEqualTypeOf<string[]>()
    // @ts-expect-error an unknown string is not a code
    new SimulatorError('LAMEDUCK_ERR_SIM_NOPE', 'x')
  })
})
