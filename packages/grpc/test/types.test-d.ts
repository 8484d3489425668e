import type { Server } from '@grpc/grpc-js'
import type { Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions, Registration } from '@lameduck/core/adapter'
import {
  drainGrpcServer,
  GRPC_DEFAULTS,
  GRPC_ERROR_CODES,
  GRPC_WARNING_CODES,
  type GrpcDrain,
  type GrpcDrainForcedError,
  type GrpcDrainOptions,
  type GrpcDrainStats,
  type GrpcErrorCode,
  type GrpcHealth,
  type GrpcHealthServedError,
  type GrpcServingStatus,
  type GrpcWarningCode,
} from '@lameduck/grpc'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown
declare const server: Server

describe('public types of @lameduck/grpc', () => {
  it('drainGrpcServer takes the coordinator, a grpc-js Server and the shared task options', () => {
    const drain = drainGrpcServer(shutdown, server, {
      timeoutMs: 1,
      health: false,
      onDrain: ({ deadline }) => deadline,
    })
    expectTypeOf(drain).toEqualTypeOf<GrpcDrain>()
    expectTypeOf(drain).toExtend<Registration>()
    expectTypeOf<GrpcDrainOptions>().toExtend<AdapterTaskOptions>()
    expectTypeOf(drain.server).toEqualTypeOf<Server>()
    expectTypeOf(drain.health).toEqualTypeOf<GrpcHealth | undefined>()
    expectTypeOf(drain.stats).toEqualTypeOf<GrpcDrainStats | undefined>()
    expectTypeOf(drain.inFlight()).toEqualTypeOf<number>()
    drain.health?.setStatus('my.Service', 'NOT_SERVING')
    expectTypeOf(drain.health?.status('')).toEqualTypeOf<GrpcServingStatus | undefined>()
    // @ts-expect-error not a status of grpc.health.v1
    drain.health?.setStatus('', 'DOWN')
    // @ts-expect-error not an option
    drainGrpcServer(shutdown, server, { timeout: 1 })
    // @ts-expect-error a server, not its address
    drainGrpcServer(shutdown, '0.0.0.0:50051')
    expectTypeOf(GRPC_DEFAULTS.drain.timeoutMs).toEqualTypeOf<10_000>()
  })

  it('the codes: a closed catalogue, each error with its own code', () => {
    expectTypeOf(GRPC_ERROR_CODES).toEqualTypeOf<
      readonly ['LAMEDUCK_ERR_GRPC_DRAIN_FORCED', 'LAMEDUCK_ERR_GRPC_HEALTH_SERVED']
    >()
    expectTypeOf(GRPC_WARNING_CODES).toEqualTypeOf<readonly ['LAMEDUCK_WARN_GRPC_INTERNALS']>()
    expectTypeOf<GrpcErrorCode>().toEqualTypeOf<'LAMEDUCK_ERR_GRPC_DRAIN_FORCED' | 'LAMEDUCK_ERR_GRPC_HEALTH_SERVED'>()
    expectTypeOf<GrpcWarningCode>().toEqualTypeOf<'LAMEDUCK_WARN_GRPC_INTERNALS'>()
    expectTypeOf<GrpcDrainForcedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_GRPC_DRAIN_FORCED'>()
    expectTypeOf<GrpcHealthServedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_GRPC_HEALTH_SERVED'>()
    expectTypeOf<GrpcDrainForcedError['stats']>().toEqualTypeOf<GrpcDrainStats>()
    // @ts-expect-error not one of its codes
    const wrong: GrpcErrorCode = 'LAMEDUCK_ERR_DRAIN_FORCED'
    void wrong
  })
})
