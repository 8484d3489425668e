import type { Server as HttpServer } from 'node:http'
import { createShutdown, InvalidOptionError, type Registration, type Shutdown } from '@lameduck/core'
import {
  checkOptions,
  DuplicateRegistrationError,
  describeArgument,
  hasMethods,
  isShutdown,
  optionalFunction,
  registerTask,
  shared,
} from '@lameduck/core/adapter'
import { createProbesFor, drainHttpServer, type HttpDrain, type ProbeHandler } from '@lameduck/http'
import {
  type DynamicModule,
  type FactoryProvider,
  type INestApplication,
  Inject,
  type ModuleMetadata,
} from '@nestjs/common'
import { HttpAdapterHost } from '@nestjs/core'
import {
  NestModuleImportedTwiceError,
  NestModuleMissingError,
  NestNotAttachedError,
  NestShutdownHooksError,
} from './errors.js'
import {
  callBeforeShutdownHooks,
  canCallBeforeShutdown,
  closeAfterDrain,
  inFront,
  isInitialized,
  nestClose,
  OWN_CLOSE,
  shadow,
  shutdownHookSignals,
} from './internals.js'
import { type LameduckModuleOptions, type Settings, settingsOf } from './options.js'

/**
 * The injection token of the coordinator: `@Inject(SHUTDOWN) shutdown: Shutdown` (or `@InjectShutdown()`).
 * A `Symbol.for` key, the same for the ESM and CommonJS copies of the package.
 */
export const SHUTDOWN: unique symbol = Symbol.for('@lameduck/nestjs:shutdown')

const SETTINGS = Symbol.for('@lameduck/nestjs:settings')
const HOST = Symbol.for('@lameduck/nestjs:host')

/** Injects the coordinator: `constructor(@InjectShutdown() private readonly shutdown: Shutdown) {}`. */
export function InjectShutdown(): PropertyDecorator & ParameterDecorator {
  return Inject(SHUTDOWN)
}

/** What `forRootAsync()` takes: Nest's usual `imports`, `inject` and `useFactory`. */
export interface LameduckModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the module's options (those of `forRoot`), or a promise of them. */
  useFactory: (...args: never[]) => LameduckModuleOptions | Promise<LameduckModuleOptions>
  /** The providers `useFactory` is called with. */
  inject?: FactoryProvider['inject']
}

/** What `LameduckModule.attach(app)` registered: the coordinator and the three handles. */
export interface LameduckAttachment {
  readonly shutdown: Shutdown
  /** The zero-drop drain of `app.getHttpServer()` (`drainHttpServer` of `@lameduck/http`). */
  readonly drain: HttpDrain
  /** The task calling the `beforeApplicationShutdown` hooks; `undefined` with `beforeShutdown: false`. */
  readonly beforeShutdown: Registration | undefined
  /** The task running `app.close()` after the drain. */
  readonly close: Registration
}

const ASYNC_OPTIONS = ['imports', 'inject', 'useFactory'] as const

// Which module instance belongs to which application: keyed by the application's HttpAdapterHost (one per
// application, injectable everywhere), so that attach(app) finds it without `app.get(token)` — which, for a
// token the application lacks, makes Nest log and exit the process (abortOnError) instead of throwing.
const hosts = shared('nestjs:hosts:v1', () => new WeakMap<object, LameduckHost>())

/**
 * The Nest module: the coordinator as an injectable (`SHUTDOWN`, `@InjectShutdown()`), global, and — once
 * `LameduckModule.attach(app)` has been called, before `app.listen()` — the probes and `/shutdown` in front of
 * the application, the zero-drop drain of its server, and Nest's shutdown hooks in lameduck's phases:
 *
 * ```ts
 * @Module({ imports: [LameduckModule.forRoot({ token: process.env.LAMEDUCK_SHUTDOWN_TOKEN })] })
 * class AppModule {}
 *
 * const app = await NestFactory.create(AppModule)
 * LameduckModule.attach(app)
 * await app.listen(3000)
 * ```
 *
 * Never call `app.enableShutdownHooks()` with it: `attach` refuses (`NestShutdownHooksError`).
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class, configured through static forRoot()
export class LameduckModule {
  /** The module, with its options checked now (the probe options once the coordinator exists). */
  static forRoot(options: LameduckModuleOptions = {}): DynamicModule {
    const settings = settingsOf('LameduckModule.forRoot', options)
    return moduleOf([{ provide: SETTINGS, useValue: settings }], [])
  }

  /** The module, with its options from a factory (`ConfigService` and the like), checked when it resolves. */
  static forRootAsync(options: LameduckModuleAsyncOptions): DynamicModule {
    const where = 'LameduckModule.forRootAsync'
    checkOptions(where, options, ASYNC_OPTIONS)
    const factory = optionalFunction(`useFactory of ${where}`, options?.useFactory)
    if (factory === undefined)
      throw new InvalidOptionError(`useFactory of ${where}`, 'expected the function returning the module options')
    if (options.inject !== undefined && !Array.isArray(options.inject))
      throw new InvalidOptionError(`inject of ${where}`, `expected an array; got ${describeArgument(options.inject)}`)
    if (options.imports !== undefined && !Array.isArray(options.imports))
      throw new InvalidOptionError(`imports of ${where}`, `expected an array; got ${describeArgument(options.imports)}`)
    const settings: FactoryProvider = {
      provide: SETTINGS,
      useFactory: async (...args: never[]) => settingsOf(where, await factory(...args)),
      inject: options.inject ?? [],
    }
    return moduleOf([settings], options.imports ?? [])
  }

  /**
   * Wires lameduck to the application: call it once, right after `NestFactory.create()` and before
   * `app.init()` / `app.listen()`. Refuses an application that called `enableShutdownHooks()`.
   */
  static attach(app: INestApplication): LameduckAttachment {
    const where = 'LameduckModule.attach'
    if (!isNestApplication(app))
      throw new InvalidOptionError(
        `app argument of ${where}`,
        `expected the Nest application NestFactory.create() returns; got ${describeArgument(app)}`,
      )
    const host = hosts.get(app.get(HttpAdapterHost))
    if (host === undefined) throw new NestModuleMissingError()
    return host.attach(app)
  }
}

function moduleOf(settings: DynamicModule['providers'] & object, imports: DynamicModule['imports'] & object) {
  return {
    module: LameduckModule,
    global: true,
    imports,
    providers: [
      ...settings,
      {
        provide: SHUTDOWN,
        useFactory: (s: Settings) => (isShutdown(s.shutdown) ? s.shutdown : createShutdown(s.shutdown)),
        inject: [SETTINGS],
      },
      {
        provide: HOST,
        useFactory: (s: Settings, shutdown: Shutdown, adapterHost: HttpAdapterHost) => {
          const owned = !isShutdown(s.shutdown)
          const other = hosts.get(adapterHost)
          if (other !== undefined) {
            // The application cannot start: the coordinators the two imports created go with it.
            if (owned) shutdown.uninstall()
            if (other.owned) other.shutdown.uninstall()
            throw new NestModuleImportedTwiceError()
          }
          const host = new LameduckHost(s, shutdown, owned)
          hosts.set(adapterHost, host)
          return host
        },
        inject: [SETTINGS, SHUTDOWN, HttpAdapterHost],
      },
    ],
    exports: [SHUTDOWN],
  } satisfies DynamicModule
}

function isNestApplication(app: unknown): app is INestApplication {
  return typeof app === 'object' && hasMethods(app, ['get', 'close', 'getHttpServer', 'getHttpAdapter'])
}

/** The module's instance in one application: its coordinator, its probes, and what `attach` registered. */
class LameduckHost {
  readonly #probes: ProbeHandler
  #attached: (LameduckAttachment & { detach(): void }) | undefined
  /** True while the close task runs `app.close()`: the module's own hooks are lameduck's then. */
  #closing = false

  constructor(
    readonly settings: Settings,
    readonly shutdown: Shutdown,
    /** Whether the module created the coordinator (and so uninstalls it when the application closes itself). */
    readonly owned: boolean,
  ) {
    try {
      this.#probes = createProbesFor(settings.where, shutdown, settings.probes)
    } catch (error) {
      if (owned) shutdown.uninstall()
      throw error
    }
  }

  attach(app: INestApplication): LameduckAttachment {
    const where = 'LameduckModule.attach'
    if (this.#attached) throw new DuplicateRegistrationError(where, this.#attached.close.name, 'this application')
    const server = app.getHttpServer() as HttpServer
    if (isInitialized(app) || server.listening) throw new NestNotAttachedError(true)
    const signals = shutdownHookSignals(app)
    if (signals.length > 0) throw new NestShutdownHooksError(signals)

    const { shutdown, settings } = this
    // Before listen(): the drain sees every connection. Registered first: a second coordinator's drain of
    // the same server, or wrong drain options, fail here and leave nothing behind.
    const drain = drainHttpServer(shutdown, server, settings.drain)
    const undo: (() => void)[] = [drain.remove]
    const detach = () => {
      for (const step of undo.splice(0).reverse()) step()
    }
    try {
      // The signal that started (or joined) the run, for the hooks: Nest passes it to
      // beforeApplicationShutdown and onApplicationShutdown (`undefined` for a preStop /shutdown alone).
      let signal: string | undefined
      undo.push(
        shutdown.on('trigger', ({ trigger, reason }) => {
          if (trigger === 'signal' && signal === undefined) signal = reason
        }),
      )
      let beforeStarted = false
      const hoisted = settings.beforeShutdown !== false && canCallBeforeShutdown(app)
      const beforeShutdown =
        hoisted && settings.beforeShutdown !== false
          ? registerTask(shutdown, {
              where: `beforeShutdown of ${where}`,
              task: settings.beforeShutdown,
              resource: app,
              resourceLabel: 'this application',
              run: () => {
                beforeStarted = true
                return callBeforeShutdownHooks(app, signal)
              },
            })
          : undefined
      if (beforeShutdown) undo.push(beforeShutdown.remove)
      // After the drain: no request is left for a provider's onModuleDestroy to pull a dependency from under,
      // and the hooks run with their budget. The hooks that already ran in their own task are not called
      // again — even if it timed out: calling them twice is worse than once late.
      // Once begun, the close is what every later app.close() waits for: the application closes once.
      let closing: Promise<void> | undefined
      const closeAfterRun = (closeSignal: string | undefined) => {
        closing ??= (async () => {
          this.#closing = true
          try {
            await closeAfterDrain(app, server, { signal: closeSignal, skipBeforeShutdown: beforeStarted })
          } finally {
            this.#closing = false
          }
        })()
        return closing
      }
      let closeRemoved = false
      const close = registerTask(shutdown, {
        where: `close of ${where}`,
        task: settings.close,
        resource: app,
        resourceLabel: 'this application',
        run: () => closeAfterRun(signal),
        onRemove: () => {
          closeRemoved = true
        },
      })
      undo.push(close.remove)
      undo.push(inFront(server, this.#probes))
      undo.push(
        shadow(app, {
          // Nest's own signal handlers race lameduck's: refused from now on too.
          enableShutdownHooks: () => {
            throw new NestShutdownHooksError([])
          },
          // The application's own `app.close()` — a SIGTERM handler of its own, as Nest applications
          // without enableShutdownHooks() have — once the shutdown has begun: closing now would take the
          // drain off, run every hook at once in Nest's order (the beforeApplicationShutdown hooks a second
          // time), and let the coordinator end the run, and exit, under them. It joins the run instead, and
          // resolves when the run is over (the report written): the hooks run once, in their phases. Before
          // any trigger, the application closes itself (a test) and lameduck steps aside (onModuleDestroy).
          // With the close task removed (`close.remove()`), the call is the application's own close, in a
          // task of its own: it closes as the close task would have. Nest's proxies call it with the
          // instance as `this`.
          async close(this: object, closeSignal?: string, own?: typeof OWN_CLOSE): Promise<void> {
            if (own === OWN_CLOSE) return nestClose(this).call(this, closeSignal)
            // A handler of the same signal that runs before the coordinator's: the run starts in the same
            // emit, before this goes on.
            await Promise.resolve()
            if (shutdown.state === 'running') return nestClose(this).call(this, closeSignal)
            // Closing or closed by the close task (a task of a later phase calling it): that close.
            if (closing !== undefined) return closing
            if (closeRemoved) return closeAfterRun(closeSignal ?? signal)
            await shutdown.shutdown('app.close()')
          },
        }),
      )
      this.#attached = { shutdown, drain, beforeShutdown, close, detach }
      return { shutdown, drain, beforeShutdown, close }
    } catch (error) {
      detach()
      throw error
    }
  }

  // Nest's lifecycle hooks of the module's own instance.

  onApplicationBootstrap(): void {
    if (this.#attached !== undefined) return
    // The application does not start: the coordinator the module created must not stay behind, holding the
    // process's signals for a run with nothing to drain.
    if (this.owned && this.shutdown.state === 'running') this.shutdown.uninstall()
    throw new NestNotAttachedError(false)
  }

  /** The application closing itself (`app.close()` in a test, another shutdown path): lameduck steps aside. */
  onModuleDestroy(): void {
    if (this.#closing) return
    this.#attached?.detach()
    if (this.owned && this.shutdown.state === 'running') this.shutdown.uninstall()
  }
}
