import {
  ConfigurationError,
  createShutdown,
  DEFAULTS,
  describeValue,
  InvalidDurationError,
  InvalidOptionError,
  LameduckError,
  MAX_TIMER_MS,
  type ShutdownOptions,
  UnknownOptionError,
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
      /gracePeriodMs: 1000 must be greater than safetyMarginMs \(1000\)/,
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

describe('misuse from plain JavaScript is caught at configuration time', () => {
  it('rejects unknown option keys with the closest known one', () => {
    const cases: [Record<string, unknown>, string, string | undefined][] = [
      [{ drainDelay: 5000 }, 'drainDelay', 'drainDelayMs'],
      [{ gracePeriod: 30_000 }, 'gracePeriod', 'gracePeriodMs'],
      [{ singals: ['SIGTERM'] }, 'singals', 'signals'],
      [{ Logger: false }, 'Logger', 'logger'],
      [{ frobnicate: 1 }, 'frobnicate', undefined],
    ]
    for (const [options, key, suggestion] of cases) {
      const error = catchError(() => createShutdown({ ...base, ...(options as ShutdownOptions) }))
      expect(error).toBeInstanceOf(UnknownOptionError)
      expect(error).toBeInstanceOf(ConfigurationError)
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION', option: key, suggestion })
      expect((error as Error).message).toContain(`createShutdown: unknown option "${key}"`)
      if (suggestion) expect((error as Error).message).toContain(`did you mean "${suggestion}"?`)
    }
  })

  it('rejects unknown task keys: timeout for timeoutMs', () => {
    const shutdown = createShutdown(base)
    const error = catchError(() => shutdown.addTask({ name: 't', run() {}, timeout: 100 } as never))
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION', option: 'timeout', suggestion: 'timeoutMs' })
    expect(() => shutdown.addTask({ name: 't', run() {}, onAbandon: 'x' } as never)).toThrow(InvalidOptionError)
  })

  it('refuses null like any other wrong type, instead of silently using the default', () => {
    for (const option of ['gracePeriodMs', 'safetyMarginMs', 'drainDelayMs']) {
      const error = catchError(() => createShutdown({ ...base, [option]: null }))
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_DURATION' })
      expect((error as Error).message).toBe(`${option} must be a finite, non-negative number of milliseconds; got null`)
    }
    for (const option of ['signals', 'exit', 'logger', 'clock', 'fatalErrors', 'env']) {
      expect(catchError(() => createShutdown({ ...base, [option]: null }))).toMatchObject({
        code: 'LAMEDUCK_ERR_INVALID_OPTION',
      })
    }
    const shutdown = createShutdown(base)
    expect(catchError(() => shutdown.addTask({ name: 't', run() {}, timeoutMs: null } as never))).toMatchObject({
      code: 'LAMEDUCK_ERR_INVALID_DURATION',
    })
    expect(catchError(() => shutdown.addTask({ name: 't', run() {}, phase: null } as never))).toMatchObject({
      code: 'LAMEDUCK_ERR_UNKNOWN_PHASE',
    })
    expect(() => createShutdown(null as never)).toThrow(InvalidOptionError)
  })

  it('refuses durations longer than timers can hold (they would fire after ~1 ms)', () => {
    for (const option of ['gracePeriodMs', 'drainDelayMs']) {
      const error = catchError(() => createShutdown({ ...base, [option]: 2 ** 31 }))
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_DURATION' })
      expect((error as Error).message).toContain(`at most ${MAX_TIMER_MS} ms`)
    }
    expect(createShutdown({ ...base, gracePeriodMs: MAX_TIMER_MS }).config.gracePeriodMs).toBe(MAX_TIMER_MS)
    const env = { TERMINATION_GRACE_PERIOD_SECONDS: String(2 ** 31) }
    const error = catchError(() => createShutdown({ ...base, env }))
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_DURATION' })
    expect((error as Error).message).toContain('TERMINATION_GRACE_PERIOD_SECONDS')
    const shutdown = createShutdown(base)
    expect(() => shutdown.addTask({ name: 't', run() {}, timeoutMs: 2 ** 31 })).toThrow(InvalidDurationError)
  })

  it('names what was passed: seconds written as milliseconds, an environment variable in seconds', () => {
    expect(catchError(() => createShutdown({ ...base, gracePeriodMs: 30 }))).toMatchObject({
      option: 'gracePeriodMs',
      message: expect.stringContaining('gracePeriodMs is in milliseconds: did you mean 30000?'),
    })
    const thirty = catchError(() => createShutdown({ ...base, env: { TERMINATION_GRACE_PERIOD_SECONDS: 'thirty' } }))
    expect((thirty as Error).message).toBe(
      'the environment variable TERMINATION_GRACE_PERIOD_SECONDS must be a whole or decimal number of seconds ' +
        '(e.g. "30"); got "thirty"',
    )
    expect((thirty as Error).message).not.toContain('milliseconds')
    expect(catchError(() => createShutdown({ ...base, env: { TERMINATION_GRACE_PERIOD_SECONDS: '1' } }))).toMatchObject(
      { option: 'TERMINATION_GRACE_PERIOD_SECONDS' },
    )
    expect(catchError(() => createShutdown({ ...base, safetyMarginMs: 40_000 }))).toMatchObject({
      option: 'safetyMarginMs',
    })
    expect(describeValue(new Map())).toBe('a Map')
    expect(describeValue(undefined)).toBe('undefined')
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
