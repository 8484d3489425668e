import type { Registration, Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions } from '@lameduck/core/adapter'
import {
  type CloseWebSocketsOptions,
  closeWebSockets,
  type WebSocketsClose,
  WS_DEFAULTS,
  WS_ERROR_CODES,
  WS_WARNING_CODES,
  type WsCloseStats,
  type WsErrorCode,
  WsTerminatedError,
  type WsWarningCode,
} from '@lameduck/ws'
import { describe, expectTypeOf, it } from 'vitest'
import { WebSocketServer } from 'ws'

declare const shutdown: Shutdown

describe('public types of @lameduck/ws', () => {
  it("takes ws's own WebSocketServer, whatever its options, and returns the one handle shape", () => {
    const closing = closeWebSockets(shutdown, new WebSocketServer({ noServer: true }), { code: 1001, spreadMs: 1 })
    closeWebSockets(shutdown, new WebSocketServer({ port: 0, clientTracking: false }))
    expectTypeOf(closing).toEqualTypeOf<WebSocketsClose>()
    expectTypeOf(closing).toExtend<Registration>()
    expectTypeOf(closing.connections()).toEqualTypeOf<number>()
    expectTypeOf(closing.stats).toEqualTypeOf<WsCloseStats | undefined>()
    expectTypeOf<CloseWebSocketsOptions>().toExtend<AdapterTaskOptions>()
    expectTypeOf<CloseWebSocketsOptions['lateMessages']>().toEqualTypeOf<'deliver' | 'drop' | undefined>()
    // @ts-expect-error not an option
    closeWebSockets(shutdown, new WebSocketServer({ noServer: true }), { spread: 1 })
    // @ts-expect-error not a WebSocketServer
    closeWebSockets(shutdown, {})
    // @ts-expect-error the coordinator comes first
    closeWebSockets(new WebSocketServer({ noServer: true }))
  })

  it('the defaults and the codes', () => {
    expectTypeOf(WS_DEFAULTS.code).toEqualTypeOf<1012>()
    expectTypeOf(WS_DEFAULTS.lateMessages).toEqualTypeOf<'deliver'>()
    expectTypeOf(WS_ERROR_CODES).toEqualTypeOf<readonly ['LAMEDUCK_ERR_WS_TERMINATED']>()
    expectTypeOf<WsErrorCode>().toEqualTypeOf<'LAMEDUCK_ERR_WS_TERMINATED'>()
    expectTypeOf(new WsTerminatedError({} as WsCloseStats).code).toEqualTypeOf<WsErrorCode>()
    expectTypeOf(WS_WARNING_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf<WsWarningCode>().toBeNever()
  })
})
