import {
  ConfigurationError,
  createShutdown,
  DEFAULTS,
  InvalidDurationError,
  InvalidOptionError,
  LameduckError,
  type ShutdownOptions,
  UnknownSignalError,
} from '@lameduck/core'
import { describe, expect, it } from 'vitest'

const base: ShutdownOptions = { exit: false, logger: false, signals: [] }

describe('options are validated when the coordinator is created', () => {
  for (const option of ['gracePeriodMs', 'safetyMarginMs', 'drainDelayMs'] as const) {
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      it(`rejects ${option} = ${String(value)}`, () => {
        const error = catchError(() => createShutdown({ ...base, [option]: value }))
        expect(error).toBeInstanceOf(InvalidDurationError)
        expect(error).toBeInstanceOf(ConfigurationError)
        expect(error).toBeInstanceOf(LameduckError)
        expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_DURATION', name: 'InvalidDurationError' })
        expect((error as Error).message).toContain(option)
      })
    }
  }

  it('rejects a zero grace period and a margin that leaves no time', () => {
    expect(() => createShutdown({ ...base, gracePeriodMs: 0 })).toThrow(InvalidOptionError)
    expect(() => createShutdown({ ...base, gracePeriodMs: 1000, safetyMarginMs: 1000 })).toThrow(
      /safetyMarginMs: must be less than gracePeriodMs/,
    )
  })

  it('reads the grace period from TERMINATION_GRACE_PERIOD_SECONDS, and rejects a malformed one', () => {
    expect(createShutdown({ ...base, env: { TERMINATION_GRACE_PERIOD_SECONDS: '45' } }).config.gracePeriodMs).toBe(
      45_000,
    )
    expect(createShutdown({ ...base, env: {} }).config.gracePeriodMs).toBe(DEFAULTS.gracePeriodMs)
    expect(
      createShutdown({ ...base, gracePeriodMs: 10_000, env: { TERMINATION_GRACE_PERIOD_SECONDS: '45' } }).config
        .gracePeriodMs,
    ).toBe(10_000)
    for (const bad of ['-5', 'thirty', '30s', 'Infinity']) {
      expect(() => createShutdown({ ...base, env: { TERMINATION_GRACE_PERIOD_SECONDS: bad } })).toThrow(
        InvalidDurationError,
      )
    }
  })

  it('waits for endpoint propagation by default only inside Kubernetes', () => {
    expect(createShutdown({ ...base, env: {} }).config.drainDelayMs).toBe(DEFAULTS.drainDelayMsElsewhere)
    expect(createShutdown({ ...base, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } }).config.drainDelayMs).toBe(
      DEFAULTS.drainDelayMsInKubernetes,
    )
  })

  it('rejects unknown and uncatchable signals with a stable code', () => {
    for (const signal of ['SIGNOPE', 'sigterm', 15, 'SIGKILL', 'SIGSTOP', 'SIGUSR1']) {
      const error = catchError(() => createShutdown({ ...base, signals: [signal as NodeJS.Signals] }))
      expect(error).toBeInstanceOf(UnknownSignalError)
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_UNKNOWN_SIGNAL' })
    }
    expect(() => createShutdown({ ...base, signals: 'SIGTERM' as unknown as NodeJS.Signals[] })).toThrow(
      InvalidOptionError,
    )
    expect(createShutdown({ ...base, signals: ['SIGHUP', 'SIGHUP'] }).config.signals).toEqual(['SIGHUP'])
  })

  it('rejects a logger, exit, clock or fatalErrors of the wrong shape', () => {
    const wrong: ShutdownOptions[] = [
      { logger: { info() {} } as never },
      { logger: true as never },
      { exit: 1 as never },
      { clock: { now: () => 0 } as never },
      { fatalErrors: 'yes' as never },
    ]
    for (const options of wrong) {
      const error = catchError(() => createShutdown({ ...base, ...options }))
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    }
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}
