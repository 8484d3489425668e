import type { Server as HttpServer } from 'node:http'
import type { Shutdown } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkedTaskOptions,
  checkOptions,
  optionalObject,
  type Registration,
  registerTask,
  requireShutdown,
} from '@lameduck/core/adapter'
import {
  closedByDrain,
  createProbesFor,
  type DrainOptions,
  drainHttpServerFor,
  HTTP_DEFAULTS,
  type HttpDrain,
  PROBE_OPTIONS,
  type ProbeOptions,
} from '@lameduck/http'
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { FASTIFY_DEFAULTS } from './defaults.js'

const WHERE = 'lameduck'

/** The plugin's options: the probe options of `createProbes` (`@lameduck/http`), the coordinator, the drain's and the close task's. */
export interface LameduckFastifyOptions extends ProbeOptions {
  /** The coordinator (`createShutdown()` of `@lameduck/core`). Required. */
  shutdown: Shutdown
  /** Options of the drain of `app.server` — those of `drainHttpServer` (`@lameduck/http`), same defaults. */
  drain?: DrainOptions
  /** The task running `app.close()` after the drain. Defaults: {@link FASTIFY_DEFAULTS}`.close`. */
  close?: AdapterTaskOptions
}

/** What the plugin registered, as `app.lameduck`: the drain's handle and the close task's. */
export interface LameduckHandles {
  readonly drain: HttpDrain
  readonly close: Registration
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The registrations of `@lameduck/fastify`'s plugin. */
    lameduck: LameduckHandles
  }
}

/** Every key the plugin's options have, for JavaScript callers' typos. */
export const PLUGIN_OPTIONS = ['shutdown', ...PROBE_OPTIONS, 'drain', 'close'] as const

// Every method goes to the probe handler, which answers 405 (with `Allow`) for those its route does not take.
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']

const plugin: FastifyPluginCallback<LameduckFastifyOptions> = (app, options, done) => {
  // A throw would not reach Fastify (avvio waits for `done` until its plugin timeout): handed to `done`,
  // the error is what `register()`, `ready()` and `listen()` reject with.
  try {
    setUp(app, options)
  } catch (error) {
    done(error as Error)
    return
  }
  done()
}

function setUp(app: FastifyInstance, options: LameduckFastifyOptions): void {
  checkOptions(WHERE, options, PLUGIN_OPTIONS)
  const { shutdown, drain: drainOptions, close: closeOptions, ...probeOptions } = options
  requireShutdown(WHERE, shutdown, 'app.register(lameduck, { shutdown, token })')
  optionalObject(`drain of ${WHERE}`, drainOptions)
  const closeTask = checkedTaskOptions(`close of ${WHERE}`, closeOptions, FASTIFY_DEFAULTS.close)
  const probes = createProbesFor(WHERE, shutdown, probeOptions)

  // Attached now, before listen(): Fastify creates its server with the instance, and the drain must see
  // every connection. Registered before the close task: a second plugin on the same coordinator fails here
  // (DuplicateRegistrationError), leaving nothing behind.
  const drain = drainHttpServerFor(`drain of ${WHERE}`, shutdown, app.server as never, drainOptions)
  let close: Registration
  try {
    close = registerTask(shutdown, {
      where: `close of ${WHERE}`,
      task: closeTask,
      resource: app,
      resourceLabel: 'this Fastify instance',
      // After the drain: no connection is left for Fastify's close to cut, and the application's onClose
      // hooks (database pools, queues, …) run with their budget. Fastify's closing of the server and its
      // connections is left out (closedByDrain): it would wait for, or cut, the /shutdown connection.
      run: () => closedByDrain(app.server as HttpServer, () => app.close()),
    })
  } catch (error) {
    drain.remove()
    throw error
  }
  // app.close() called by the application itself (tests, another shutdown path): nothing left to do here.
  app.addHook('onClose', (_instance, next) => {
    drain.remove()
    close.remove()
    next()
  })
  app.decorate('lameduck', { drain, close })

  // Answered in the route's onRequest hook, before Fastify parses a body (a preStop request with a body
  // Fastify has no parser for would get 415 instead of the shutdown). The probe handler writes the raw
  // response itself: the reply is hijacked, and the chain stops there.
  const onRequest = (request: FastifyRequest, reply: FastifyReply, _done: () => void) => {
    reply.hijack()
    if (!probes(request.raw, reply.raw)) {
      reply.raw.statusCode = 404
      reply.raw.end()
    }
  }
  const handler = () => undefined
  const defaults = HTTP_DEFAULTS.probes.paths
  const paths = probeOptions.paths ?? {}
  const routes = [
    paths.liveness ?? defaults.liveness,
    paths.readiness ?? defaults.readiness,
    paths.startup ?? defaults.startup,
  ]
  const shutdownPath = paths.shutdown === undefined ? defaults.shutdown : paths.shutdown
  if (shutdownPath !== false) routes.push(shutdownPath)
  for (const url of routes) app.route({ method: METHODS, url, onRequest, handler, logLevel: 'warn' })
}

/**
 * The Fastify plugin (`fastify-plugin`, so its routes and `app.lameduck` are the application's own):
 *
 * ```ts
 * await app.register(lameduck, { shutdown, token: process.env.LAMEDUCK_SHUTDOWN_TOKEN })
 * ```
 *
 * serves `/healthz`, `/readyz`, `/startupz` and `/shutdown` as routes, drains `app.server` with the zero-drop drain of
 * `@lameduck/http` (`drain` phase), and runs `app.close()` — the application's `onClose` hooks — in a task
 * of its own (`close` phase, after the drain). Every option is checked at register time.
 */
export const lameduck = fp(plugin, { fastify: '4.x || 5.x', name: '@lameduck/fastify' })
