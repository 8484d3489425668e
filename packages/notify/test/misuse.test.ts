import { notify } from '@lameduck/notify'
import { describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

const url = 'http://127.0.0.1:9/deregister'
const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'

describe('notify: misuse, at registration', () => {
  const cases: [string, () => unknown, string, RegExp][] = [
    ['no coordinator', () => notify({} as never, { url }), INVALID, /notify/],
    [
      'no options',
      () => notify(testShutdown(), undefined as never),
      INVALID,
      /options of notify: expected \{ url, … \}/,
    ],
    ['no url', () => notify(testShutdown(), {} as never), INVALID, /url of notify: required/],
    [
      'a url that is not one',
      () => notify(testShutdown(), { url: 'not a url' }),
      INVALID,
      /url of notify: expected an http: or https: URL/,
    ],
    ['another scheme', () => notify(testShutdown(), { url: 'ftp://x/' }), INVALID, /got "ftp:\/\/x\/"/],
    ['a url of the wrong type', () => notify(testShutdown(), { url: 5 as never }), INVALID, /url of notify/],
    ['a typo', () => notify(testShutdown(), { url, retries: 3 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /retries/],
    [
      'a method',
      () => notify(testShutdown(), { url, method: 'post' as never }),
      INVALID,
      /method of notify: expected one of/,
    ],
    [
      'a header value',
      () => notify(testShutdown(), { url, headers: { a: 1 } as never }),
      INVALID,
      /headers\.a of notify/,
    ],
    [
      'headers not an object',
      () => notify(testShutdown(), { url, headers: 'x' as never }),
      INVALID,
      /headers of notify/,
    ],
    ['a body of the wrong type', () => notify(testShutdown(), { url, body: 5 as never }), INVALID, /body of notify/],
    ['null body', () => notify(testShutdown(), { url, body: null as never }), INVALID, /body of notify/],
    [
      'a body on GET',
      () => notify(testShutdown(), { url, method: 'GET', body: 'x' }),
      INVALID,
      /a GET request has no body/,
    ],
    ['an empty key', () => notify(testShutdown(), { url, idempotencyKey: '' }), INVALID, /idempotencyKey of notify/],
    ['a key with a space', () => notify(testShutdown(), { url, idempotencyKey: 'a b' }), INVALID, /idempotencyKey/],
    ['true as key', () => notify(testShutdown(), { url, idempotencyKey: true as never }), INVALID, /or false/],
    [
      'a header name',
      () => notify(testShutdown(), { url, idempotencyHeader: 'X Key' }),
      INVALID,
      /an HTTP header name/,
    ],
    [
      '0 attempts',
      () => notify(testShutdown(), { url, attempts: 0 }),
      INVALID,
      /attempts of notify: expected an integer of at least 1/,
    ],
    ['1.5 attempts', () => notify(testShutdown(), { url, attempts: 1.5 }), INVALID, /attempts of notify/],
    [
      'a delay',
      () => notify(testShutdown(), { url, retryDelayMs: -1 }),
      'LAMEDUCK_ERR_INVALID_DURATION',
      /retryDelayMs of notify/,
    ],
    [
      '0 ms per attempt',
      () => notify(testShutdown(), { url, attemptTimeoutMs: 0 }),
      'LAMEDUCK_ERR_INVALID_DURATION',
      /attemptTimeoutMs/,
    ],
    [
      'a budget',
      () => notify(testShutdown(), { url, timeoutMs: 'soon' as never }),
      'LAMEDUCK_ERR_INVALID_DURATION',
      /timeoutMs of notify/,
    ],
    [
      'a phase',
      () => notify(testShutdown(), { url, phase: 'later' as never }),
      'LAMEDUCK_ERR_UNKNOWN_PHASE',
      /phase of notify/,
    ],
    ['critical', () => notify(testShutdown(), { url, critical: 'yes' as never }), INVALID, /critical of notify/],
    ['env', () => notify(testShutdown(), { url, env: 'x' as never }), INVALID, /env of notify/],
  ]
  for (const [title, call, code, message] of cases)
    it(title, () => {
      expect(call).toThrow(message)
      try {
        call()
      } catch (error) {
        expect((error as { code?: string }).code).toBe(code)
      }
    })

  it('two with the default name are both registered (notify, notify-2); a name taken by the caller is refused', async () => {
    const shutdown = testShutdown()
    expect(notify(shutdown, { url }).name).toBe('notify')
    expect(notify(shutdown, { url }).name).toBe('notify-2')
    notify(shutdown, { url, name: 'registry' })
    expect(() => notify(shutdown, { url, name: 'registry' })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }),
    )
  })
})
