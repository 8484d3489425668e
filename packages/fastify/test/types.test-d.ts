import type { Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions, Registration } from '@lameduck/core/adapter'
import {
  FASTIFY_ERROR_CODES,
  FASTIFY_WARNING_CODES,
  type FastifyErrorCode,
  type FastifyWarningCode,
  type LameduckFastifyOptions,
  lameduck,
} from '@lameduck/fastify'
import type { DrainOptions, HttpDrain, ProbeOptions } from '@lameduck/http'
import Fastify from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown

describe('public types of @lameduck/fastify', () => {
  it('the plugin takes the coordinator, the probe options, drain and close', () => {
    const app = Fastify()
    void app.register(lameduck, { shutdown, token: 'x', drain: { timeoutMs: 1 }, close: { phase: 'close' } })
    expectTypeOf<LameduckFastifyOptions>().toExtend<ProbeOptions>()
    expectTypeOf<LameduckFastifyOptions['drain']>().toEqualTypeOf<DrainOptions | undefined>()
    expectTypeOf<LameduckFastifyOptions['close']>().toEqualTypeOf<AdapterTaskOptions | undefined>()
    expectTypeOf(app.lameduck.drain).toEqualTypeOf<HttpDrain>()
    expectTypeOf(app.lameduck.close).toEqualTypeOf<Registration>()
    // @ts-expect-error not an option
    void app.register(lameduck, { shutdown, tokn: 'x' })
    // @ts-expect-error the coordinator is required
    void app.register(lameduck, { token: 'x' })
  })

  it('the codes: no code of its own, and an unknown string is not one', () => {
    expectTypeOf(FASTIFY_ERROR_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf(FASTIFY_WARNING_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf<FastifyErrorCode>().toBeNever()
    expectTypeOf<FastifyWarningCode>().toBeNever()
  })
})
