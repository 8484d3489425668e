import type { Registration, Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions } from '@lameduck/core/adapter'
import {
  NOTIFY_ERROR_CODES,
  type Notification,
  type NotifyErrorCode,
  NotifyFailedError,
  type NotifyOptions,
  type NotifyResult,
  notify,
} from '@lameduck/notify'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown

describe('public types of @lameduck/notify', () => {
  it('returns the one handle shape with its result', () => {
    const told = notify(shutdown, { url: 'http://x/', body: ({ instance }) => ({ instance }) })
    expectTypeOf(told).toEqualTypeOf<Notification>()
    expectTypeOf(told).toExtend<Registration>()
    expectTypeOf(told.result).toEqualTypeOf<NotifyResult | undefined>()
    expectTypeOf<NotifyOptions>().toExtend<AdapterTaskOptions>()
    notify(shutdown, { url: new URL('http://x/'), method: 'DELETE', idempotencyKey: false })
    // @ts-expect-error a url is required
    notify(shutdown, {})
    // @ts-expect-error not a method
    notify(shutdown, { url: 'http://x/', method: 'post' })
    // @ts-expect-error not an option
    notify(shutdown, { url: 'http://x/', retries: 3 })
  })

  it('has a closed catalogue of codes', () => {
    expectTypeOf<NotifyErrorCode>().toEqualTypeOf<'LAMEDUCK_ERR_NOTIFY_FAILED'>()
    expectTypeOf(NOTIFY_ERROR_CODES[0]).toEqualTypeOf<NotifyErrorCode>()
    // @ts-expect-error an unknown string is not a code
    const wrong: NotifyErrorCode = 'LAMEDUCK_ERR_SOMETHING'
    void wrong
    expectTypeOf(new NotifyFailedError({} as NotifyResult, 'why').code).toEqualTypeOf<'LAMEDUCK_ERR_NOTIFY_FAILED'>()
  })
})
