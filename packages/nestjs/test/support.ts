// Real Nest applications for the in-process tests, on either platform. Nest's decorators are applied as the
// functions they are (the tests are compiled without `experimentalDecorators`): `Injectable()(Class)`,
// `Inject(token)(Class, undefined, index)` for a constructor parameter.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type LameduckAttachment, LameduckModule, type LameduckModuleOptions } from '@lameduck/nestjs'
import {
  Controller,
  type DynamicModule,
  Get,
  type INestApplication,
  Inject,
  Injectable,
  Module,
  type Provider,
  Query,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { delay } from '../../../test/support/shutdown.js'

export const PLATFORMS = ['express', 'fastify'] as const
export type Platform = (typeof PLATFORMS)[number]
export const TOKEN = 'nestjs-token-0123456789'

/** The hooks the providers ran, in order: `Class.hook(signal)` and, for a dependency, whether it was still open. */
export type Journal = string[]

/** Stands in for a database client: answers while open, throws once its onModuleDestroy closed it. */
export function dbModule(journal: Journal) {
  class DbService {
    open = false
    onModuleInit() {
      this.open = true
    }
    query(what: string): string {
      if (!this.open) throw new Error(`db closed: ${what}`)
      return what
    }
    async onModuleDestroy() {
      journal.push('Db.onModuleDestroy')
      await delay(10)
      this.open = false
    }
    onApplicationShutdown(signal?: string) {
      journal.push(`Db.onApplicationShutdown(${signal})`)
    }
  }
  Injectable()(DbService)
  class DbModule {}
  Module({ providers: [DbService], exports: [DbService] })(DbModule)
  return { DbService, DbModule }
}

/** A provider of the root module using the database in each of its hooks. */
export function usersService(journal: Journal, Db: ReturnType<typeof dbModule>['DbService']) {
  class UsersService {
    constructor(readonly db: InstanceType<typeof Db>) {}
    hook(name: string, signal?: string) {
      journal.push(`Users.${name}(${signal}) db ${this.db.open ? 'open' : 'closed'}`)
      this.db.query(name)
    }
    async beforeApplicationShutdown(signal?: string) {
      this.hook('beforeApplicationShutdown', signal)
    }
    async onModuleDestroy() {
      this.hook('onModuleDestroy')
    }
    onApplicationShutdown(signal?: string) {
      journal.push(`Users.onApplicationShutdown(${signal})`)
    }
  }
  Inject(Db)(UsersService, undefined, 0)
  Injectable()(UsersService)
  return UsersService
}

function controller() {
  class AppController {
    hello() {
      return 'hello'
    }
    async slow(ms?: string) {
      await delay(Number(ms ?? 300))
      return 'slow'
    }
  }
  Query('ms')(AppController.prototype, 'slow', 0)
  for (const [method, path] of [
    ['hello', '/'],
    ['slow', '/slow'],
  ] as const)
    Get(path)(
      AppController.prototype,
      method,
      Object.getOwnPropertyDescriptor(AppController.prototype, method) as PropertyDescriptor,
    )
  Controller()(AppController)
  return AppController
}

export interface AppSetup {
  /** The module's options (`forRoot`), or the dynamic module itself (`forRootAsync`, or none at all: `null`). */
  lameduck?: LameduckModuleOptions | DynamicModule | null
  providers?: Provider[]
  imports?: NonNullable<DynamicModule['imports']>
  /** Options of the platform: `forceCloseConnections` and the like. */
  platformOptions?: Record<string, unknown>
  /** Called with the application before `attach`. */
  before?: (app: INestApplication) => void
  /** Attach (default), or leave it to the test. */
  attach?: boolean
  listen?: boolean
}

export interface RunningApp {
  app: INestApplication
  server: Server
  url: string
  attachment: LameduckAttachment | undefined
}

const open: INestApplication[] = []

/** Closes every application a test left open (for afterEach). */
export async function closeApps(): Promise<void> {
  for (const app of open.splice(0)) {
    const server = app.getHttpServer() as Server
    server.closeAllConnections?.()
    await app.close().catch(() => {})
  }
}

export async function createApp(platform: Platform, setup: AppSetup = {}): Promise<INestApplication> {
  const lameduck =
    setup.lameduck === null
      ? []
      : setup.lameduck !== undefined && 'module' in setup.lameduck
        ? [setup.lameduck as DynamicModule]
        : [LameduckModule.forRoot(setup.lameduck as LameduckModuleOptions | undefined)]
  class AppModule {}
  Module({
    imports: [...lameduck, ...(setup.imports ?? [])],
    controllers: [controller()],
    providers: setup.providers ?? [],
  })(AppModule)
  const options = { logger: false as const, abortOnError: false }
  const app =
    platform === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(setup.platformOptions), options)
      : await NestFactory.create(AppModule, { ...options, ...setup.platformOptions })
  open.push(app)
  return app
}

/** A Nest application with LameduckModule, attached and listening on a port of its own (unless told otherwise). */
export async function startApp(platform: Platform, setup: AppSetup = {}): Promise<RunningApp> {
  const app = await createApp(platform, setup)
  setup.before?.(app)
  const attachment = setup.attach === false ? undefined : LameduckModule.attach(app)
  const server = app.getHttpServer() as Server
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  if (setup.listen !== false) await app.listen(0, '127.0.0.1')
  const address = server.address() as AddressInfo | null
  return { app, server, url: address ? `http://127.0.0.1:${address.port}` : '', attachment }
}
