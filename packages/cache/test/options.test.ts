import { createWriteBehind, flushTask, type Sink } from '@lameduck/cache'
import { createShutdown, type Shutdown } from '@lameduck/core'
import { describe, expect, it } from 'vitest'

// Misuse caught at configuration time, for JavaScript callers too: unknown keys with "did you mean",
// null refused like any wrong type, durations within what Node's timers hold. One code per mistake.

const quiet = (): Shutdown => createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
const sink: Sink = { write: async () => {} }
const make = (options: unknown) => () => createWriteBehind(quiet(), options as never)

describe('createWriteBehind options', () => {
  it('unknown keys are refused, with the nearest known one', () => {
    expect(make({ sink, flushInterval: 100 })).toThrow(
      /unknown option "flushInterval" — did you mean "flushIntervalMs"\?/,
    )
    expect(make({ sink, timeout: 100 })).toThrow(/did you mean "timeoutMs"/)
    expect(make({ sink, maxentries: 10 })).toThrow(/did you mean "maxEntries"/)
    expect(make({ sink, retryDelay: 10 })).toThrow(/did you mean "retryDelayMs"/)
    expect(make({ sink, codec: {} })).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION' }))
  })

  it('null, missing or wrong-typed options are refused, naming what was passed', () => {
    expect(make(null)).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }))
    expect(make(undefined)).toThrow(/expected \{ sink, … \}/)
    expect(make({})).toThrow(/sink: expected an object with a write\(batch, signal\) method, got undefined/)
    expect(make({ sink: null })).toThrow(/got null/)
    const invalid: [string, unknown, RegExp][] = [
      ['name', null, /name: expected a non-empty string, got null/],
      ['name', '', /name: expected a non-empty string/],
      ['maxBatch', 0, /maxBatch: expected a positive integer, got 0/],
      ['maxBatch', null, /maxBatch: expected a positive integer, got null/],
      ['concurrency', 1.5, /concurrency: expected a positive integer, got 1.5/],
      ['maxEntries', null, /maxEntries: expected a positive integer \(or Infinity for no limit\), got null/],
      ['maxEntries', 0, /maxEntries/],
      ['maxBytes', Number.NaN, /maxBytes: expected a positive number/],
      ['critical', null, /critical: expected a boolean, got null/],
      ['retainClean', 'no', /retainClean: expected a boolean/],
      ['encode', null, /encode: expected a function, got null/],
      ['onUnflushed', 'file.txt', /onUnflushed: expected a function/],
    ]
    for (const [option, value, message] of invalid) {
      expect(make({ sink, [option]: value }), option).toThrow(message)
      expect(make({ sink, [option]: value }), option).toThrow(
        expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
      )
    }
  })

  it('durations: finite, not negative, at most 2^31-1 ms — null refused too', () => {
    for (const option of ['flushIntervalMs', 'timeoutMs', 'retryDelayMs', 'maxRetryDelayMs']) {
      for (const value of [-1, null, '100', Number.POSITIVE_INFINITY, 2 ** 31]) {
        expect(make({ sink, [option]: value }), `${option} ${String(value)}`).toThrow(
          expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
        )
      }
    }
    // A flush interval a timer cannot hold would fire every millisecond instead.
    expect(make({ sink, flushIntervalMs: 2 ** 31 })).toThrow(/flushIntervalMs must be at most 2147483647 ms/)
    expect(make({ sink, flushIntervalMs: 2 ** 31 - 1 })).not.toThrow()
    expect(make({ sink, retryDelayMs: 500, maxRetryDelayMs: 100 })).toThrow(
      /maxRetryDelayMs: must be at least retryDelayMs/,
    )
  })

  it('limits may be Infinity (no limit); the shutdown argument must be a coordinator', () => {
    expect(make({ sink, maxEntries: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY })).not.toThrow()
    expect(() => createWriteBehind({} as never, { sink })).toThrow(
      /createWriteBehind\(shutdown, …\): expected the coordinator returned by createShutdown\(\), got an object/,
    )
  })
})

describe('the other options objects', () => {
  it('setOrWait and flush check theirs', async () => {
    const cache = createWriteBehind(quiet(), { sink, flushIntervalMs: 0 })
    await expect(cache.setOrWait('k', 1, { signl: undefined } as never)).rejects.toThrow(/did you mean "signal"/)
    await expect(cache.setOrWait('k', 1, null as never)).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    await expect(cache.setOrWait('k', 1, { signal: 'x' } as never)).rejects.toThrow(/signal: expected an AbortSignal/)
    expect(() => cache.flush({} as never)).toThrow(/flush\(signal\): expected an AbortSignal/)
  })

  it('flushTask checks its options and arguments', () => {
    const shutdown = quiet()
    expect(() => flushTask(shutdown, 'a', () => {}, { timeout: 10 } as never)).toThrow(/did you mean "timeoutMs"/)
    expect(() => flushTask(shutdown, 'b', () => {}, null as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    expect(() => flushTask(shutdown, 'c', () => {}, { timeoutMs: 2 ** 31 })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    expect(() => flushTask(shutdown, 'd', 'not a function' as never)).toThrow(
      /expected a function, got "not a function"/,
    )
    expect(() => flushTask(shutdown, '', () => {})).toThrow(/expected a non-empty name/)
  })
})
