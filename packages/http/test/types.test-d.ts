import type { Server, ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { Registration, Shutdown } from '@lameduck/core'
import {
  type AdminOptions,
  type AdminServer,
  type AdminSocketServer,
  type CloseEventStreamsOptions,
  closeEventStreams,
  createProbes,
  createProbesFor,
  type DrainForcedError,
  type DrainOptions,
  type DrainStats,
  drainHttpServer,
  type EventStream,
  type EventStreamStats,
  type EventStreamsClose,
  type EventStreamsTerminatedError,
  HTTP_DEFAULTS,
  type HTTP_ERROR_CODES,
  type HTTP_WARNING_CODES,
  type HttpDrain,
  type HttpErrorCode,
  type HttpWarningCode,
  listenAdmin,
  type ProbeHandler,
  type ProbeOptions,
} from '@lameduck/http'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown
declare const server: Server

describe('public types of @lameduck/http', () => {
  it('every registration is a Registration plus what is its own', () => {
    const drain = drainHttpServer(shutdown, server)
    expectTypeOf(drain).toEqualTypeOf<HttpDrain>()
    expectTypeOf(drain).toExtend<Registration>()
    expectTypeOf(drain.name).toEqualTypeOf<string>()
    expectTypeOf(drain.remove).toEqualTypeOf<() => void>()
    expectTypeOf(drain[Symbol.dispose]).toEqualTypeOf<() => void>()
    expectTypeOf(drain.stats).toEqualTypeOf<DrainStats | undefined>()
    expectTypeOf(drain.connections).returns.toBeNumber()
    expectTypeOf(listenAdmin(shutdown, { port: 0 })).resolves.toEqualTypeOf<AdminServer>()
    expectTypeOf(
      listenAdmin(shutdown, { socketPath: '/run/app/admin.sock' }),
    ).resolves.toEqualTypeOf<AdminSocketServer>()
    expectTypeOf<AdminServer['port']>().toBeNumber()
    expectTypeOf<AdminSocketServer['socketPath']>().toBeString()
    expectTypeOf<AdminSocketServer>().toExtend<Registration>()
    expectTypeOf<AdminServer>().toExtend<Registration>()
    expectTypeOf<AdminServer['close']>().returns.resolves.toBeVoid()
  })

  it('the task options have the shared names', () => {
    expectTypeOf<DrainOptions>().toHaveProperty('name')
    expectTypeOf<DrainOptions>().toHaveProperty('phase')
    expectTypeOf<DrainOptions>().toHaveProperty('timeoutMs')
    expectTypeOf<DrainOptions>().toHaveProperty('critical')
    expectTypeOf<AdminOptions>().toHaveProperty('timeoutMs')
    drainHttpServer(shutdown, server, { phase: 'drain', timeoutMs: 1000, critical: false, name: 'web' })
    // @ts-expect-error not a phase
    drainHttpServer(shutdown, server, { phase: 'later' })
    // @ts-expect-error the old name of an option
    drainHttpServer(shutdown, server, { timeout: 1000 })
    // @ts-expect-error port (or socketPath) is required
    void listenAdmin(shutdown, {})
    // @ts-expect-error a Unix socket has no port
    void listenAdmin(shutdown, { socketPath: '/run/app/admin.sock', port: 9090 })
    // Options typed as the union still go in; the result is one server or the other.
    const options = { port: 0 } as AdminOptions
    expectTypeOf(listenAdmin(shutdown, options)).resolves.toEqualTypeOf<AdminServer | AdminSocketServer>()
  })

  it('createProbes takes (shutdown, options?) and its options nothing internal', () => {
    expectTypeOf(createProbes).parameters.toEqualTypeOf<[Shutdown, ProbeOptions?]>()
    expectTypeOf(createProbes).returns.toEqualTypeOf<ProbeHandler>()
    expectTypeOf(createProbesFor).parameters.toEqualTypeOf<[string, Shutdown, ProbeOptions?]>()
    expectTypeOf<keyof ProbeOptions>().toEqualTypeOf<
      'paths' | 'token' | 'insecure' | 'liveness' | 'readiness' | 'env'
    >()
    // @ts-expect-error the admin server's flag is not an option
    createProbes(shutdown, { requireToken: false })
    expectTypeOf<keyof NonNullable<ProbeOptions['paths']>>().toEqualTypeOf<
      'liveness' | 'readiness' | 'startup' | 'shutdown'
    >()
    createProbes(shutdown, { paths: { startup: '/started' } })
    // @ts-expect-error only the shutdown route can be left out
    createProbes(shutdown, { paths: { startup: false } })
  })

  it('the codes: closed catalogues, and an unknown string is not a code', () => {
    expectTypeOf<(typeof HTTP_ERROR_CODES)[number]>().toEqualTypeOf<HttpErrorCode>()
    expectTypeOf<(typeof HTTP_WARNING_CODES)[number]>().toEqualTypeOf<HttpWarningCode>()
    expectTypeOf<'LAMEDUCK_ERR_DRAIN_FORCED'>().toExtend<HttpErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_NO_SUCH_THING'>().not.toExtend<HttpErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_LISTEN_AFTER_DRAIN'>().toExtend<HttpWarningCode>()
    expectTypeOf<'LAMEDUCK_WARN_NO_SUCH_THING'>().not.toExtend<HttpWarningCode>()
    expectTypeOf<'LAMEDUCK_WARN_LISTEN_AFTER_DRAIN'>().not.toExtend<HttpErrorCode>()
    expectTypeOf<DrainForcedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_DRAIN_FORCED'>()
  })

  it('closeEventStreams: the one handle shape, add() for a response of HTTP/1 or HTTP/2', () => {
    const sse = closeEventStreams(shutdown, server, { spreadMs: 100, retryMs: 500 })
    expectTypeOf(sse).toEqualTypeOf<EventStreamsClose>()
    expectTypeOf(sse).toExtend<Registration>()
    expectTypeOf(sse.stats).toEqualTypeOf<EventStreamStats | undefined>()
    expectTypeOf(sse.add({} as ServerResponse)).toEqualTypeOf<EventStream>()
    expectTypeOf(sse.add({} as Http2ServerResponse)[Symbol.dispose]).toEqualTypeOf<() => void>()
    expectTypeOf<CloseEventStreamsOptions['retryMs']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<EventStreamsTerminatedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_SSE_TERMINATED'>()
    // @ts-expect-error not an option
    closeEventStreams(shutdown, server, { retry: 500 })
    // @ts-expect-error a response, not a request
    sse.add({ url: '/' })
  })

  it('the defaults are literal', () => {
    expectTypeOf(HTTP_DEFAULTS.eventStreams.retryMs).toEqualTypeOf<1_000>()
    expectTypeOf(HTTP_DEFAULTS.drain.timeoutMs).toEqualTypeOf<10_000>()
    expectTypeOf(HTTP_DEFAULTS.admin.phase).toEqualTypeOf<'report'>()
  })
})
