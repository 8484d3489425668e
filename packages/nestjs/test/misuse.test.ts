// What a caller can get wrong with the module, caught with one named error per mistake, naming where and
// what was passed: in forRoot() (at once), when Nest instantiates the module (NestFactory.create), in
// attach(app), and at app.init() / app.listen().
import type { Server } from 'node:http'
import { LameduckModule, NestModuleImportedTwiceError } from '@lameduck/nestjs'
import { Module } from '@nestjs/common'
import { afterEach, describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'
import { closeApps, createApp, PLATFORMS, startApp, TOKEN } from './support.js'

afterEach(closeApps)

const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
const UNKNOWN = 'LAMEDUCK_ERR_UNKNOWN_OPTION'

function thrown(call: () => unknown): { code?: string; message?: string } {
  try {
    call()
  } catch (error) {
    return error as { code?: string; message?: string }
  }
  throw new Error('accepted')
}

async function rejected(work: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  return work.then(
    () => {
      throw new Error('accepted')
    },
    (error: unknown) => error as { code?: string; message?: string },
  )
}

describe('LameduckModule.forRoot(options): wrong options, refused at once', () => {
  const shutdown = testShutdown()
  const rows: [string, unknown, string, RegExp][] = [
    ['not an object', 5, INVALID, /options of LameduckModule.forRoot: expected an object; got 5/],
    ['typo', { tokn: TOKEN }, UNKNOWN, /LameduckModule.forRoot: unknown option "tokn" — did you mean "token"\?/],
    ['shutdown not a coordinator', { shutdown: 5 }, INVALID, /shutdown of LameduckModule.forRoot: .*got 5/],
    ['drain not an object', { shutdown, drain: 5 }, INVALID, /drain of LameduckModule.forRoot/],
    ['beforeShutdown: true', { beforeShutdown: true }, INVALID, /beforeShutdown of LameduckModule.forRoot: .*or false/],
    [
      'beforeShutdown typo',
      { beforeShutdown: { timeout: 1 } },
      UNKNOWN,
      /beforeShutdown of LameduckModule.forRoot: unknown option "timeout"/,
    ],
    [
      'beforeShutdown budget',
      { beforeShutdown: { timeoutMs: -1 } },
      'LAMEDUCK_ERR_INVALID_DURATION',
      /timeoutMs of beforeShutdown of LameduckModule.forRoot/,
    ],
    ['close typo', { close: { timeout: 5 } }, UNKNOWN, /close of LameduckModule.forRoot: unknown option "timeout"/],
    [
      'close budget',
      { close: { timeoutMs: 'soon' } },
      'LAMEDUCK_ERR_INVALID_DURATION',
      /timeoutMs of close of LameduckModule.forRoot/,
    ],
    [
      'close phase',
      { close: { phase: 'later' } },
      'LAMEDUCK_ERR_UNKNOWN_PHASE',
      /phase of close of LameduckModule.forRoot/,
    ],
    ['close critical', { close: { critical: 'yes' } }, INVALID, /critical of close of LameduckModule.forRoot/],
    // Nest's close() calls the beforeApplicationShutdown hooks itself when they have not run yet: a task after
    // it (or beside it) would call them a second time, after every onModuleDestroy.
    [
      'beforeShutdown after close',
      { beforeShutdown: { phase: 'report' } },
      INVALID,
      /phase of beforeShutdown of LameduckModule.forRoot: must come before the phase of the close task \("close"\); got "report"/,
    ],
    [
      'beforeShutdown beside close',
      { beforeShutdown: { phase: 'release' }, close: { phase: 'release' } },
      INVALID,
      /phase of beforeShutdown of LameduckModule.forRoot: must come before .*\("release"\); got "release"/,
    ],
    ['close before beforeShutdown', { close: { phase: 'drain' } }, INVALID, /got "drain"/],
  ]
  it.each(rows)('%s', (_name, options, code, message) => {
    const error = thrown(() => LameduckModule.forRoot(options as never))
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
  })
})

describe('LameduckModule.forRootAsync(options)', () => {
  it.each([
    ['no factory', {}, INVALID, /useFactory of LameduckModule.forRootAsync: expected the function/],
    [
      'factory not a function',
      { useFactory: {} },
      INVALID,
      /useFactory of LameduckModule.forRootAsync: expected a function/,
    ],
    ['typo', { useFactory: () => ({}), injects: [] }, UNKNOWN, /did you mean "inject"\?/],
    [
      'inject not an array',
      { useFactory: () => ({}), inject: 'CONFIG' },
      INVALID,
      /inject of LameduckModule.forRootAsync/,
    ],
  ] as const)('%s: refused at once', (_name, options, code, message) => {
    const error = thrown(() => LameduckModule.forRootAsync(options as never))
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
  })

  it('beforeShutdown after close, from the factory: NestFactory.create() rejects', async () => {
    const module = LameduckModule.forRootAsync({ useFactory: () => ({ beforeShutdown: { phase: 'report' } }) })
    const error = await rejected(createApp('express', { lameduck: module }))
    expect(error.code).toBe(INVALID)
    expect(error.message).toMatch(/phase of beforeShutdown of LameduckModule.forRootAsync: must come before/)
  })

  it("the factory's options are checked when they resolve: NestFactory.create() rejects", async () => {
    const module = LameduckModule.forRootAsync({ useFactory: async () => ({ tokn: TOKEN }) as never })
    const error = await rejected(createApp('express', { lameduck: module }))
    expect(error.code).toBe(UNKNOWN)
    expect(error.message).toMatch(/LameduckModule.forRootAsync: unknown option "tokn"/)
  })
})

describe.each(PLATFORMS)('on %s', (platform) => {
  it('the probe options, with the coordinator: no token for /shutdown → NestFactory.create() rejects', async () => {
    const error = await rejected(createApp(platform, { lameduck: { shutdown: testShutdown(), env: {} } }))
    expect(error.code).toBe('LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED')
  })

  it('a wrong probe option names forRoot', async () => {
    const error = await rejected(
      createApp(platform, { lameduck: { shutdown: testShutdown(), token: TOKEN, paths: { readiness: 'readyz' } } }),
    )
    expect(error.code).toBe(INVALID)
    expect(error.message).toMatch(/LameduckModule.forRoot/)
  })

  it("the coordinator's options are createShutdown's, checked by it", async () => {
    const error = await rejected(
      createApp(platform, { lameduck: { insecure: true, shutdown: { drainDelay: 5 } as never } }),
    )
    expect(error.code).toBe(UNKNOWN)
    expect(error.message).toMatch(/createShutdown: unknown option "drainDelay"/)
  })

  it('attach(app): not an application', () => {
    for (const wrong of [undefined, {}, testShutdown()]) {
      const error = thrown(() => LameduckModule.attach(wrong as never))
      expect(error.code).toBe(INVALID)
      expect(error.message).toMatch(/app argument of LameduckModule.attach: expected the Nest application/)
    }
  })

  it('attach(app): an application without LameduckModule', async () => {
    const app = await createApp(platform, { lameduck: null })
    expect(thrown(() => LameduckModule.attach(app))).toMatchObject({ code: 'LAMEDUCK_ERR_NEST_MODULE_MISSING' })
  })

  it('attach(app) twice', async () => {
    const app = await createApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true } })
    LameduckModule.attach(app)
    const error = thrown(() => LameduckModule.attach(app))
    expect(error.code).toBe('LAMEDUCK_ERR_DUPLICATE_REGISTRATION')
    expect(error.message).toMatch(/LameduckModule.attach: this application is already registered/)
  })

  it('a typo in the drain options: attach names drainHttpServer, and leaves nothing behind', async () => {
    const shutdown = testShutdown()
    const app = await createApp(platform, { lameduck: { shutdown, insecure: true, drain: { timeout: 5 } as never } })
    const error = thrown(() => LameduckModule.attach(app))
    expect(error.code).toBe(UNKNOWN)
    expect(error.message).toMatch(/drainHttpServer: unknown option "timeout"/)
    expect((await shutdown.shutdown()).phases.flatMap((phase) => phase.tasks)).toEqual([])
  })

  it('app.listen() without attach(app): the initialization fails with NestNotAttachedError', async () => {
    const error = await rejected(
      startApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true }, attach: false }),
    )
    expect(error.code).toBe('LAMEDUCK_ERR_NEST_NOT_ATTACHED')
    expect(error.message).toMatch(/initialized without LameduckModule.attach\(app\)/)
  })

  it('app.init() without attach(app): the coordinator the module created is uninstalled — the application did not start', async () => {
    const before = process.listenerCount('SIGUSR2')
    const shutdown = { signals: ['SIGUSR2'], exit: false, logger: false, terminationLog: false } as const
    const app = await createApp(platform, { lameduck: { insecure: true, shutdown } })
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    expect(await rejected(app.init())).toMatchObject({ code: 'LAMEDUCK_ERR_NEST_NOT_ATTACHED' })
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it('app.init() without attach(app): rejects the same way', async () => {
    const app = await createApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true } })
    expect(await rejected(app.init())).toMatchObject({ code: 'LAMEDUCK_ERR_NEST_NOT_ATTACHED' })
  })

  it('attach(app) once its server listens: too late for the drain to see every connection', async () => {
    const app = await createApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true } })
    const server = app.getHttpServer() as Server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const error = thrown(() => LameduckModule.attach(app))
    expect(error.code).toBe('LAMEDUCK_ERR_NEST_NOT_ATTACHED')
    expect(error.message).toMatch(/once the application was initialized or its server listening/)
  })

  it('app.enableShutdownHooks() before attach: refused, naming the signals', async () => {
    const app = await createApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true } })
    const before = process.listenerCount('SIGTERM')
    app.enableShutdownHooks(['SIGTERM'])
    try {
      const error = thrown(() => LameduckModule.attach(app))
      expect(error.code).toBe('LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS')
      expect(error.message).toMatch(/enableShutdownHooks\(\) installed Nest's own handlers \(SIGTERM\)/)
    } finally {
      await app.close()
    }
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it('app.enableShutdownHooks() after attach: throws, and installs nothing', async () => {
    const { app } = await startApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true } })
    const before = process.listenerCount('SIGTERM')
    const error = thrown(() => app.enableShutdownHooks())
    expect(error.code).toBe('LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS')
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it('a coordinator the module created is uninstalled when the application closes itself', async () => {
    const before = process.listenerCount('SIGUSR2')
    const { app } = await startApp(platform, {
      lameduck: {
        insecure: true,
        shutdown: { signals: ['SIGUSR2'], exit: false, logger: false, terminationLog: false },
      },
    })
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    await app.close()
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it("the probes are taken off the server with the rest: the application's own listener is back alone", async () => {
    const { app, server } = await startApp(platform, { lameduck: { shutdown: testShutdown(), insecure: true } })
    const probes = (server as Server).listeners('request')
    expect(probes.map((listener) => listener.name)).toEqual(['lameduckProbes'])
    await app.close()
    expect((server as Server).listeners('request').map((listener) => listener.name)).not.toContain('lameduckProbes')
  })
})

describe('LameduckModule imported twice in one application', () => {
  // It is global: importing forRoot() in a feature module too, for the injection, made a second module
  // instance with a coordinator of its own, and attach() found one of the two: the application failed to
  // start with NestNotAttachedError, attach() called, both coordinators still installed.
  it.each([
    ['the same options', { insecure: true }],
    ['other options', { insecure: true, paths: { liveness: '/live' } }],
  ])(
    'with %s: NestFactory.create() rejects with NestModuleImportedTwiceError, and no coordinator is left installed',
    async (_title, feature) => {
      const own = { signals: ['SIGUSR2'], exit: false, logger: false, terminationLog: false } as const
      const before = process.listenerCount('SIGUSR2')
      class FeatureModule {}
      Module({ imports: [LameduckModule.forRoot({ ...feature, shutdown: own })] })(FeatureModule)
      const error = await rejected(
        createApp('express', { lameduck: { insecure: true, shutdown: own }, imports: [FeatureModule] }),
      )
      expect(error).toBeInstanceOf(NestModuleImportedTwiceError)
      expect(error).toMatchObject({
        code: 'LAMEDUCK_ERR_NEST_MODULE_TWICE',
        message: expect.stringMatching(/imported more than once .* in the root module/),
      })
      expect(process.listenerCount('SIGUSR2')).toBe(before)
    },
  )
})

describe('two applications, one coordinator', () => {
  it('each drained and closed, the second numbered', async () => {
    const shutdown = testShutdown()
    const one = await startApp('express', { lameduck: { shutdown, insecure: true }, listen: false })
    const two = await startApp('fastify', { lameduck: { shutdown, insecure: true }, listen: false })
    expect(one.attachment?.close.name).toBe('nest-close')
    expect(two.attachment?.drain.name).toBe('http-drain-2')
    expect(two.attachment?.beforeShutdown?.name).toBe('nest-before-shutdown-2')
    expect(two.attachment?.close.name).toBe('nest-close-2')
  })
})
