// Every private member of Nest (and of node:http's server) this package reads or shadows, in one file.
// Checked against @nestjs/core and @nestjs/platform-express 10.4 and 11.x, where they are the same:
// `NestApplicationContext` keeps `activeShutdownSignals` and `isInitialized`, and calls
// `this.callBeforeShutdownHook(signal)` from `close()`; `ExpressAdapter.close()` calls
// `this.closeOpenConnections()` (the sockets it tracks with `forceCloseConnections: true`) before
// `httpServer.close()`. Each is feature-detected: a Nest without one of them gets Nest's own behaviour for it.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http'
import { shadow } from '@lameduck/core/adapter'
import { closedByDrain } from '@lameduck/http'
import type { INestApplication } from '@nestjs/common'

export { shadow }

interface NestApplicationInternals {
  activeShutdownSignals?: unknown
  isInitialized?: unknown
  callBeforeShutdownHook?: unknown
  close(signal?: string, own?: typeof OWN_CLOSE): Promise<void>
}

interface AdapterInternals {
  closeOpenConnections?: unknown
}

/**
 * The application as Nest's proxies show it. `NestFactory.create()` returns the application behind two
 * proxies: reads and calls pass through to the instance (methods run with the instance as `this`), a plain
 * assignment does not — the inner proxy's `set` trap drops it — but `Object.defineProperty` does: neither
 * proxy has a trap for it. Everything below shadows members that way.
 */
function internals(app: INestApplication): NestApplicationInternals {
  return app as unknown as NestApplicationInternals
}

/** The signals `app.enableShutdownHooks()` installed Nest's handlers for (empty when it was not called). */
export function shutdownHookSignals(app: INestApplication): string[] {
  const active = internals(app).activeShutdownSignals
  return Array.isArray(active) ? active.map(String) : []
}

/**
 * The second argument of lameduck's own `app.close(signal, OWN_CLOSE)` (the close task's): the `close`
 * shadowed on the application lets that call through to Nest's, and joins any other to the run.
 */
export const OWN_CLOSE: unique symbol = Symbol('lameduck: the close task')

/**
 * Nest's own `close(signal?)`, as the class of `instance` has it: for the `close` shadowed on the application,
 * which Nest's proxies call with the instance itself as `this` (their `get` would find the shadow again).
 */
export function nestClose(instance: object): (this: object, signal?: string) => Promise<void> {
  return (Object.getPrototypeOf(instance) as NestApplicationInternals).close
}

/** Whether `app.init()` (which `app.listen()` calls) has run. */
export function isInitialized(app: INestApplication): boolean {
  return internals(app).isInitialized === true
}

/** Whether this Nest can call the `beforeApplicationShutdown` hooks on their own, outside `close()`. */
export function canCallBeforeShutdown(app: INestApplication): boolean {
  return typeof internals(app).callBeforeShutdownHook === 'function'
}

/** Every provider's `beforeApplicationShutdown(signal)`, in Nest's module order (dependents first in Nest 11). */
export async function callBeforeShutdownHooks(app: INestApplication, signal: string | undefined): Promise<void> {
  const call = internals(app).callBeforeShutdownHook as (signal?: string) => Promise<void>
  await call.call(app, signal)
}

/**
 * `app.close(signal)` once the drain is over: `onModuleDestroy`, `beforeApplicationShutdown` (unless
 * `skipBeforeShutdown`: it ran in its own task already), the adapter's and gateways' own closing,
 * `onApplicationShutdown` — with the closing of the server and of its connections left out. The drain
 * already stopped accepting and closed every connection but the one carrying `/shutdown`, whose response
 * (the report) is held until the end: `server.close(callback)` would wait for that connection, i.e. for this
 * very task, and `closeAllConnections()` (Fastify's `forceCloseConnections`) or the Express adapter's
 * `closeOpenConnections()` (Nest's `forceCloseConnections`) would cut the report. For the length of the
 * call, `close` stops accepting (if the server still does) and calls back at once, and closing connections
 * does nothing. Fastify's own `close()` (its `onClose` hooks) runs as usual inside the Fastify adapter's.
 */
export async function closeAfterDrain(
  app: INestApplication,
  server: HttpServer,
  options: { signal: string | undefined; skipBeforeShutdown: boolean },
): Promise<void> {
  const restore: (() => void)[] = []
  const adapter = app.getHttpAdapter() as unknown as AdapterInternals | undefined
  if (adapter && typeof adapter.closeOpenConnections === 'function')
    restore.push(shadow(adapter, { closeOpenConnections() {} }))
  if (options.skipBeforeShutdown) restore.push(shadow(app, { callBeforeShutdownHook: async () => {} }))
  try {
    await closedByDrain(server, () => internals(app).close(options.signal, OWN_CLOSE))
  } finally {
    for (const undo of restore.reverse()) undo()
  }
}

/**
 * Puts `handler` in front of every `request` listener of `server` (the Express application, Fastify's
 * router): the probes are answered before Nest, its middleware, guards, global prefix or body parsing see
 * the request. Returns the function that puts the listeners back.
 */
export function inFront(
  server: HttpServer,
  handler: (req: IncomingMessage, res: ServerResponse) => boolean,
): () => void {
  const listeners = server.listeners('request') as ((...args: unknown[]) => void)[]
  const front = function lameduckProbes(this: unknown, req: IncomingMessage, res: ServerResponse) {
    if (handler(req, res)) return
    for (const listener of listeners) listener.call(this, req, res)
  }
  for (const listener of listeners) server.off('request', listener)
  server.on('request', front)
  return () => {
    server.off('request', front)
    for (const listener of listeners) server.on('request', listener)
  }
}
