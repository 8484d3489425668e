import { ConfigurationError } from '@lameduck/core'

/**
 * The closed catalogue of the error codes `@lameduck/nestjs` throws: `LAMEDUCK_ERR_NEST_NOT_ATTACHED`
 * ({@link NestNotAttachedError}), `LAMEDUCK_ERR_NEST_MODULE_MISSING` ({@link NestModuleMissingError}),
 * `LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS` ({@link NestShutdownHooksError}) and `LAMEDUCK_ERR_NEST_MODULE_TWICE`
 * ({@link NestModuleImportedTwiceError}).
 */
export const NESTJS_ERROR_CODES = [
  'LAMEDUCK_ERR_NEST_NOT_ATTACHED',
  'LAMEDUCK_ERR_NEST_MODULE_MISSING',
  'LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS',
  'LAMEDUCK_ERR_NEST_MODULE_TWICE',
] as const

/** The warning codes `@lameduck/nestjs` emits of its own: none. */
export const NESTJS_WARNING_CODES = [] as const

/**
 * The application was initialized (`app.init()`, `app.listen()`) with `LameduckModule` imported but without
 * `LameduckModule.attach(app)` first — or `attach` came after the initialization. Without it nothing drains
 * the server, serves the probes, or runs the shutdown hooks in lameduck's phases.
 */
export class NestNotAttachedError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_NEST_NOT_ATTACHED'

  constructor(late: boolean) {
    super(
      'LAMEDUCK_ERR_NEST_NOT_ATTACHED',
      late
        ? 'LameduckModule.attach(app) was called once the application was initialized or its server listening: call it right after ' +
            'NestFactory.create(), before the application is initialized, so that the drain sees every connection'
        : 'the application was initialized without LameduckModule.attach(app): call it right after ' +
            'NestFactory.create(), before app.init() / app.listen() — nothing drains the server or runs the ' +
            "shutdown hooks in lameduck's phases otherwise",
    )
  }
}

/** `LameduckModule.attach(app)` on an application that does not import `LameduckModule.forRoot()` (or `forRootAsync()`). */
export class NestModuleMissingError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_NEST_MODULE_MISSING'

  constructor() {
    super(
      'LAMEDUCK_ERR_NEST_MODULE_MISSING',
      'LameduckModule.attach(app): this application does not import LameduckModule — add ' +
        'LameduckModule.forRoot({ … }) (or forRootAsync) to the imports of its root module',
    )
  }
}

/**
 * `app.enableShutdownHooks()` on an application lameduck is attached to. Nest's own signal handlers would
 * race lameduck's: on SIGTERM they close the server at once (cutting requests the drain would have let
 * finish), run the hooks outside any budget, and re-send the signal to the process (or `process.exit()`)
 * when they are done, whatever else is still running.
 */
export class NestShutdownHooksError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS'

  constructor(readonly signals: readonly string[]) {
    super(
      'LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS',
      `app.enableShutdownHooks() installed Nest's own handlers${signals.length > 0 ? ` (${signals.join(', ')})` : ''}, ` +
        "which race lameduck's: remove the call — with LameduckModule the coordinator runs the shutdown hooks " +
        '(beforeApplicationShutdown, onModuleDestroy, onApplicationShutdown) in its phases, after the drain',
    )
  }
}

/**
 * `LameduckModule.forRoot()` (or `forRootAsync()`) imported by two modules of one application: each import is
 * a module of its own, with a coordinator of its own, and `attach(app)` could wire one of them only.
 */
export class NestModuleImportedTwiceError extends ConfigurationError {
  declare readonly code: 'LAMEDUCK_ERR_NEST_MODULE_TWICE'

  constructor() {
    super(
      'LAMEDUCK_ERR_NEST_MODULE_TWICE',
      'LameduckModule is imported more than once in this application (forRoot or forRootAsync in two modules): ' +
        'import it once, in the root module — it is global, and the coordinator is injectable in every module',
    )
  }
}

/** A code of {@link NESTJS_ERROR_CODES}. */
export type NestjsErrorCode = (typeof NESTJS_ERROR_CODES)[number]
/** A code of {@link NESTJS_WARNING_CODES} (none: `never`). */
export type NestjsWarningCode = (typeof NESTJS_WARNING_CODES)[number]
