import type { Shutdown } from '@lameduck/core'
import { createProbes, type ProbeOptions } from '@lameduck/http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'

export type LameduckMiddlewareOptions = Omit<ProbeOptions, 'requireToken'>

/**
 * Express middleware serving `/healthz`, `/readyz` and the preStop `/shutdown` endpoint on the
 * application's port. `/shutdown` needs a token here (`token` or `LAMEDUCK_SHUTDOWN_TOKEN`): without
 * one it throws `ShutdownTokenRequiredError` unless `insecure: true`. Mount it first:
 *
 * ```ts
 * app.use(lameduck(shutdown, { token: process.env.LAMEDUCK_SHUTDOWN_TOKEN }))
 * ```
 *
 * Paths are relative to where it is mounted (`app.use('/ops', lameduck(shutdown))` serves `/ops/readyz`).
 * Works with Express 4 and 5.
 */
export function lameduck(shutdown: Shutdown, options: LameduckMiddlewareOptions = {}): RequestHandler {
  const probes = createProbes(shutdown, options)
  return function lameduckProbes(req: Request, res: Response, next: NextFunction) {
    if (!probes(req, res)) next()
  }
}
