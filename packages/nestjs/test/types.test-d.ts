import type { Shutdown, ShutdownOptions } from '@lameduck/core'
import type { AdapterTaskOptions, Registration } from '@lameduck/core/adapter'
import type { DrainOptions, HttpDrain, ProbeOptions } from '@lameduck/http'
import {
  InjectShutdown,
  type LameduckAttachment,
  LameduckModule,
  type LameduckModuleOptions,
  NESTJS_ERROR_CODES,
  NESTJS_WARNING_CODES,
  type NestjsErrorCode,
  type NestjsWarningCode,
  type NestModuleImportedTwiceError,
  type NestModuleMissingError,
  type NestNotAttachedError,
  type NestShutdownHooksError,
  SHUTDOWN,
} from '@lameduck/nestjs'
import type { DynamicModule, INestApplication } from '@nestjs/common'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown
declare const app: INestApplication

describe('public types of @lameduck/nestjs', () => {
  it('forRoot takes the coordinator or its options, the probe options, drain and the two tasks', () => {
    expectTypeOf(LameduckModule.forRoot({ shutdown, token: 'x' })).toEqualTypeOf<DynamicModule>()
    LameduckModule.forRoot({ shutdown: { drainDelayMs: 5000 }, beforeShutdown: false, close: { timeoutMs: 1 } })
    LameduckModule.forRoot()
    expectTypeOf<LameduckModuleOptions>().toExtend<ProbeOptions>()
    expectTypeOf<LameduckModuleOptions['shutdown']>().toEqualTypeOf<Shutdown | ShutdownOptions | undefined>()
    expectTypeOf<LameduckModuleOptions['drain']>().toEqualTypeOf<DrainOptions | undefined>()
    expectTypeOf<LameduckModuleOptions['beforeShutdown']>().toEqualTypeOf<AdapterTaskOptions | false | undefined>()
    expectTypeOf<LameduckModuleOptions['close']>().toEqualTypeOf<AdapterTaskOptions | undefined>()
    // @ts-expect-error not an option
    LameduckModule.forRoot({ tokn: 'x' })
    // @ts-expect-error true is not a task's options
    LameduckModule.forRoot({ beforeShutdown: true })
  })

  it('forRootAsync takes a factory of the same options', () => {
    LameduckModule.forRootAsync({ inject: ['CONFIG'], useFactory: (token: string) => ({ token }) })
    LameduckModule.forRootAsync({ useFactory: async () => ({ insecure: true }) })
    // @ts-expect-error the factory is required
    LameduckModule.forRootAsync({ inject: [] })
    // @ts-expect-error the factory returns the module's options
    LameduckModule.forRootAsync({ useFactory: () => ({ tokn: 'x' }) })
  })

  it('attach(app) returns the coordinator and the handles', () => {
    const attached = LameduckModule.attach(app)
    expectTypeOf(attached).toEqualTypeOf<LameduckAttachment>()
    expectTypeOf(attached.shutdown).toEqualTypeOf<Shutdown>()
    expectTypeOf(attached.drain).toEqualTypeOf<HttpDrain>()
    expectTypeOf(attached.beforeShutdown).toEqualTypeOf<Registration | undefined>()
    expectTypeOf(attached.close).toEqualTypeOf<Registration>()
    // @ts-expect-error an application, not a module
    LameduckModule.attach(LameduckModule.forRoot())
  })

  it('the injection token and decorator', () => {
    expectTypeOf(SHUTDOWN).toBeSymbol()
    expectTypeOf(InjectShutdown()).toExtend<ParameterDecorator>()
    expectTypeOf(InjectShutdown()).toExtend<PropertyDecorator>()
  })

  it('the codes: a closed catalogue, one class per code, and an unknown string is not one', () => {
    expectTypeOf(NESTJS_ERROR_CODES).toEqualTypeOf<
      readonly [
        'LAMEDUCK_ERR_NEST_NOT_ATTACHED',
        'LAMEDUCK_ERR_NEST_MODULE_MISSING',
        'LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS',
        'LAMEDUCK_ERR_NEST_MODULE_TWICE',
      ]
    >()
    expectTypeOf<NestjsErrorCode>().toEqualTypeOf<(typeof NESTJS_ERROR_CODES)[number]>()
    expectTypeOf<'LAMEDUCK_ERR_NEST_TYPO'>().not.toExtend<NestjsErrorCode>()
    expectTypeOf<NestNotAttachedError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_NEST_NOT_ATTACHED'>()
    expectTypeOf<NestModuleMissingError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_NEST_MODULE_MISSING'>()
    expectTypeOf<NestShutdownHooksError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_NEST_SHUTDOWN_HOOKS'>()
    expectTypeOf<NestModuleImportedTwiceError['code']>().toEqualTypeOf<'LAMEDUCK_ERR_NEST_MODULE_TWICE'>()
    expectTypeOf<NestShutdownHooksError['signals']>().toEqualTypeOf<readonly string[]>()
    expectTypeOf(NESTJS_WARNING_CODES).toEqualTypeOf<readonly []>()
    expectTypeOf<NestjsWarningCode>().toBeNever()
  })
})
