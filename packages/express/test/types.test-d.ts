import type { Shutdown } from '@lameduck/core'
import {
  EXPRESS_ERROR_CODES,
  EXPRESS_WARNING_CODES,
  type ExpressErrorCode,
  type ExpressWarningCode,
  type LameduckMiddlewareOptions,
  lameduck,
} from '@lameduck/express'
import type { ProbeOptions } from '@lameduck/http'
import type { RequestHandler } from 'express'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown

describe('public types of @lameduck/express', () => {
  it('lameduck() takes the coordinator and the probe options, and returns a middleware', () => {
    expectTypeOf(lameduck).parameters.toEqualTypeOf<[Shutdown, LameduckMiddlewareOptions?]>()
    expectTypeOf<LameduckMiddlewareOptions>().toEqualTypeOf<ProbeOptions>()
    expectTypeOf(lameduck(shutdown)).toEqualTypeOf<RequestHandler>()
    // @ts-expect-error not an option
    lameduck(shutdown, { tokn: 'x' })
    // @ts-expect-error the coordinator comes first
    lameduck({ token: 'x' })
  })

  it('the codes: no code of its own, and an unknown string is not one', () => {
    expectTypeOf(EXPRESS_ERROR_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf(EXPRESS_WARNING_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf<ExpressErrorCode>().toBeNever()
    expectTypeOf<ExpressWarningCode>().toBeNever()
    expectTypeOf<'LAMEDUCK_ERR_NO_SUCH_THING'>().not.toExtend<ExpressErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_NO_SUCH_THING'>().not.toExtend<ExpressWarningCode>()
  })
})
