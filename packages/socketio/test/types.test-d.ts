import { createServer } from 'node:http'
import type { Registration, Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions } from '@lameduck/core/adapter'
import {
  type CloseSocketIoOptions,
  closeSocketIo,
  SOCKETIO_DEFAULTS,
  SOCKETIO_ERROR_CODES,
  SOCKETIO_WARNING_CODES,
  type SocketIoClose,
  type SocketIoCloseStats,
  type SocketIoErrorCode,
  SocketIoTerminatedError,
  type SocketIoWarningCode,
} from '@lameduck/socket.io'
import { Server } from 'socket.io'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown

interface ClientEvents {
  order: (id: string, ack: (by: string) => void) => void
}

describe('public types of @lameduck/socket.io', () => {
  it("takes socket.io's own Server, typed events or not, and returns the one handle shape", () => {
    const closing = closeSocketIo(shutdown, new Server(createServer()), { spreadMs: 1, handshakeMs: 2 })
    closeSocketIo(shutdown, new Server<ClientEvents>(createServer(), { transports: ['polling'] }))
    expectTypeOf(closing).toEqualTypeOf<SocketIoClose>()
    expectTypeOf(closing).toExtend<Registration>()
    expectTypeOf(closing.connections()).toEqualTypeOf<number>()
    expectTypeOf(closing.stats).toEqualTypeOf<SocketIoCloseStats | undefined>()
    expectTypeOf<CloseSocketIoOptions>().toExtend<AdapterTaskOptions>()
    // @ts-expect-error not an option
    closeSocketIo(shutdown, new Server(createServer()), { spread: 1 })
    // @ts-expect-error not a socket.io Server
    closeSocketIo(shutdown, createServer())
    // @ts-expect-error the coordinator comes first
    closeSocketIo(new Server(createServer()))
  })

  it('the defaults and the codes', () => {
    expectTypeOf(SOCKETIO_DEFAULTS.name).toEqualTypeOf<'socket.io-close'>()
    expectTypeOf(SOCKETIO_DEFAULTS.spreadMs).toEqualTypeOf<5000>()
    expectTypeOf(SOCKETIO_ERROR_CODES).toEqualTypeOf<readonly ['LAMEDUCK_ERR_SOCKETIO_TERMINATED']>()
    expectTypeOf<SocketIoErrorCode>().toEqualTypeOf<'LAMEDUCK_ERR_SOCKETIO_TERMINATED'>()
    expectTypeOf(new SocketIoTerminatedError({} as SocketIoCloseStats).code).toEqualTypeOf<SocketIoErrorCode>()
    expectTypeOf(SOCKETIO_WARNING_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf<SocketIoWarningCode>().toBeNever()
  })
})
