// What a JavaScript caller can get wrong with drainGrpcServer, caught at the call with one named error per
// mistake, naming the function and what was passed.
import { drainGrpcServer, GrpcHealthServedError } from '@lameduck/grpc'
import { HealthImplementation } from 'grpc-health-check'
import { afterEach, describe, expect, it } from 'vitest'
import { expectRefused, type OptionCase } from '../../../test/support/adapter-contract.js'
import { taskNames, testShutdown } from '../../../test/support/shutdown.js'
import { check, closeAll, grpc, healthClient, startServer } from './helpers.js'

afterEach(closeAll)

describe('drainGrpcServer: wrong arguments and options', () => {
  const server = () => new grpc.Server()
  const rows: OptionCase[] = [
    [
      'no server',
      (s) => drainGrpcServer(s, undefined as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /server argument of drainGrpcServer: expected a grpc-js Server; got undefined/,
    ],
    [
      'a client, not a server',
      (s) => drainGrpcServer(s, new grpc.Client('127.0.0.1:1', grpc.credentials.createInsecure()) as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /expected a grpc-js Server; got .* which has no addService\(\) method/,
    ],
    [
      'arguments swapped',
      (s) => drainGrpcServer(server() as never, s as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /shutdown argument of drainGrpcServer/,
    ],
    [
      'typo',
      (s) => drainGrpcServer(s, server(), { helth: false } as never),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /drainGrpcServer: unknown option "helth" — did you mean "health"\?/,
    ],
    [
      'health not a boolean',
      (s) => drainGrpcServer(s, server(), { health: 'yes' } as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /health of drainGrpcServer/,
    ],
    [
      'health an implementation',
      (s) => drainGrpcServer(s, server(), { health: new HealthImplementation() } as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /health of drainGrpcServer/,
    ],
    [
      'onDrain not a function',
      (s) => drainGrpcServer(s, server(), { onDrain: 'log' } as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /onDrain of drainGrpcServer/,
    ],
    [
      'budget in seconds as a string',
      (s) => drainGrpcServer(s, server(), { timeoutMs: '10s' } as never),
      'LAMEDUCK_ERR_INVALID_DURATION',
      /timeoutMs of drainGrpcServer/,
    ],
  ]
  it.each(rows)('%s', async (_title, call, code, message) => {
    const shutdown = testShutdown()
    await expectRefused(() => call(shutdown), code, message)
    await shutdown.shutdown()
  })

  it('health.setStatus: a status grpc.health.v1 does not have, or a service that is not a string, is refused — not served as UNKNOWN', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server)
    const health = drain.health as NonNullable<typeof drain.health>
    for (const [service, status, message] of [
      [
        '',
        'serving',
        /status of health.setStatus of drainGrpcServer: expected one of "SERVING", "NOT_SERVING", "UNKNOWN"; got "serving"/,
      ],
      ['my.Service', 'DOWN', /status of health.setStatus/],
      ['my.Service', undefined, /status of health.setStatus/],
      [7, 'SERVING', /service of health.setStatus of drainGrpcServer: expected a string; got 7/],
      [null, 'SERVING', /service of health.setStatus/],
    ] as const)
      await expectRefused(
        () => health.setStatus(service as never, status as never),
        'LAMEDUCK_ERR_INVALID_OPTION',
        message,
      )
    // Nothing was set: the server as a whole still answers SERVING, the service is still unknown.
    expect(await check(healthClient(port))).toBe('SERVING')
    expect(health.status('my.Service')).toBeUndefined()
    await shutdown.shutdown()
  })

  it('a server that serves grpc.health.v1 already: GrpcHealthServedError, and nothing registered', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer({}, (s) => new HealthImplementation({ '': 'SERVING' }).addToServer(s))
    let thrown: unknown
    try {
      drainGrpcServer(shutdown, server)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(GrpcHealthServedError)
    expect(thrown).toMatchObject({
      code: 'LAMEDUCK_ERR_GRPC_HEALTH_SERVED',
      message: expect.stringMatching(/health: false/),
    })
    // The application's own health service is untouched, and the server can be drained with health: false.
    expect(await check(healthClient(port))).toBe('SERVING')
    const drain = drainGrpcServer(shutdown, server, { health: false })
    expect(drain.name).toBe('grpc-drain')
    expect(taskNames(await shutdown.shutdown())).toEqual(['grpc-drain'])
  })

  it('one server on two coordinators: one health service, NOT_SERVING when either is triggered', async () => {
    const one = testShutdown({ drainDelayMs: 300 })
    const two = testShutdown()
    const { server, port } = await startServer()
    drainGrpcServer(one, server)
    const second = drainGrpcServer(two, server)
    const probe = healthClient(port)
    expect(await check(probe)).toBe('SERVING')
    const run = one.shutdown()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await check(probe)).toBe('NOT_SERVING')
    expect(second.health?.status('')).toBe('NOT_SERVING')
    await run
    await two.shutdown()
  })

  it('registered once the shutdown has begun: NOT_SERVING at once', async () => {
    const shutdown = testShutdown({ drainDelayMs: 300 })
    const { server, port } = await startServer()
    const run = shutdown.shutdown()
    const drain = drainGrpcServer(shutdown, server)
    expect(drain.health?.status('')).toBe('NOT_SERVING')
    expect(await check(healthClient(port))).toBe('NOT_SERVING')
    await run
  })
})
