import { createWriteBehind, flushTask, type Sink } from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

// Misuse caught at configuration time, for JavaScript callers too, by the kit's validators: unknown keys
// with "did you mean", null refused like any wrong type, durations within what Node's timers hold. One
// code per mistake, the same in every package. (The task options and the duplicate policy:
// contract.test.ts.)

const sink: Sink = { write: async () => {} }
const make = (options: unknown) => () => createWriteBehind(testShutdown(), options as never)

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

  it('null, missing or wrong-typed options are refused, naming the option and what was passed', () => {
    expect(make(null)).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }))
    expect(make(undefined)).toThrow(/options of createWriteBehind: expected \{ sink, … \}; got undefined/)
    expect(make({})).toThrow(/sink of createWriteBehind: expected a Sink .*; got undefined/)
    expect(make({ sink: null })).toThrow(/got null/)
    expect(make({ sink: {} })).toThrow(/which has no write\(\) method/)
    const invalid: [string, unknown, RegExp][] = [
      ['name', null, /name of createWriteBehind: expected a non-empty name; got null/],
      ['name', '', /name of createWriteBehind: expected a non-empty name/],
      ['maxBatch', 0, /maxBatch of createWriteBehind: expected an integer of at least 1; got 0/],
      ['maxBatch', null, /maxBatch of createWriteBehind: .*got null/],
      ['maxBatch', Number.POSITIVE_INFINITY, /maxBatch of createWriteBehind: .*got Infinity/],
      ['concurrency', 1.5, /concurrency of createWriteBehind: .*got 1.5/],
      [
        'maxEntries',
        null,
        /maxEntries of createWriteBehind: expected an integer of at least 1 \(or Infinity\); got null/,
      ],
      ['maxEntries', 0, /maxEntries/],
      ['maxBytes', Number.NaN, /maxBytes of createWriteBehind: .*got NaN/],
      ['critical', null, /critical of createWriteBehind: expected true or false; got null/],
      ['retainClean', 'no', /retainClean of createWriteBehind: expected true or false/],
      ['encode', null, /encode of createWriteBehind: expected a function; got null/],
      ['onUnflushed', 'file.txt', /onUnflushed of createWriteBehind: expected a function/],
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
    expect(make({ sink, flushIntervalMs: 2 ** 31 })).toThrow(
      /flushIntervalMs of createWriteBehind must be at most 2147483647 ms/,
    )
    expect(make({ sink, flushIntervalMs: 2 ** 31 - 1 })).not.toThrow()
    expect(make({ sink, retryDelayMs: 500, maxRetryDelayMs: 100 })).toThrow(
      /maxRetryDelayMs of createWriteBehind: must be at least retryDelayMs/,
    )
  })

  it('limits may be Infinity (no limit); the shutdown argument must be a coordinator', () => {
    expect(make({ sink, maxEntries: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY })).not.toThrow()
    expect(() => createWriteBehind({} as never, { sink })).toThrow(
      /shutdown argument of createWriteBehind: expected the coordinator createShutdown\(\) returns; got an object/,
    )
  })
})

describe('the other options objects', () => {
  it('setOrWait and flush check theirs', async () => {
    const cache = createWriteBehind(testShutdown(), { sink, flushIntervalMs: 0 })
    await expect(cache.setOrWait('k', 1, { signl: undefined } as never)).rejects.toThrow(/did you mean "signal"/)
    await expect(cache.setOrWait('k', 1, null as never)).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    await expect(cache.setOrWait('k', 1, { signal: 'x' } as never)).rejects.toThrow(
      /signal of setOrWait: expected an AbortSignal/,
    )
    expect(() => cache.flush({} as never)).toThrow(/signal of flush: expected an AbortSignal/)
  })

  it('flushTask checks its options and arguments', () => {
    const shutdown = testShutdown()
    const fn = () => {}
    expect(() => flushTask(shutdown, fn, { timeout: 10 } as never)).toThrow(/did you mean "timeoutMs"/)
    expect(() => flushTask(shutdown, fn, null as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    expect(() => flushTask(shutdown, fn, { timeoutMs: 2 ** 31 })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    expect(() => flushTask(shutdown, 'not a function' as never)).toThrow(
      /fn argument of flushTask: expected the function that flushes.*got "not a function" \(the name is an option now/,
    )
    expect(() => flushTask(shutdown, fn, { name: '' })).toThrow(/name of flushTask: expected a non-empty name/)
  })
})
