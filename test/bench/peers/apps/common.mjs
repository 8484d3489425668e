// What every peer app shares: the same small Express app, the same environment, the same cleanup
// (a flush to a store that may hang, then a lock release) and the same time budgets, so that only the
// shutdown library differs between test/bench/peers/apps/*.mjs.
import { createServer } from 'node:http'
import express from 'express'

export const PORT = Number(process.env.PORT ?? 3000)
/** How long the service keeps serving after SIGTERM while endpoint removal propagates. */
export const DRAIN_DELAY_MS = Number(process.env.DRAIN_DELAY_MS ?? 1500)
/** The pod's terminationGracePeriodSeconds, in ms. */
export const GRACE_MS = Number(process.env.GRACE_MS ?? 30_000)
/** HANG_FLUSH=1: the flush awaits a promise that never settles (a store that hangs). */
export const HANG_FLUSH = process.env.HANG_FLUSH === '1'

// Budgets, identical for every library that has a way to express them. With headroom for the exit they
// add up to the grace period: drain delay + HTTP close + flush + release + headroom + margin = GRACE_MS.
/** Time kept free before the kubelet's SIGKILL (lameduck's default safetyMarginMs). */
export const MARGIN_MS = 1000
/** Budget of the flush, where the library can time a cleanup step out. */
export const FLUSH_BUDGET_MS = 2000
/** Budget of the lock release. */
export const RELEASE_BUDGET_MS = 1000
/** Left unplanned for the exit itself and scheduling noise. */
export const HEADROOM_MS = 500
/** How long in-flight requests may take once the server stops accepting: 4000 ms for a 10 s grace. */
export const HTTP_CLOSE_TIMEOUT_MS = Math.max(
  1000,
  GRACE_MS - DRAIN_DELAY_MS - FLUSH_BUDGET_MS - RELEASE_BUDGET_MS - HEADROOM_MS - MARGIN_MS,
)

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The Express app: GET / answers "ok", GET /slow?ms=N answers after N ms. `before(app)` mounts what a
 * library wants in front of the routes (middleware).
 */
export function createApp(before) {
  const app = express()
  before?.(app)
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  app.get('/slow', (req, res) => {
    setTimeout(() => res.send('slow done'), Number(req.query.ms ?? 1000))
  })
  return app
}

/** node:http server for the app, with the same keep-alive settings for every library. */
export function createHttpServer(app) {
  const server = createServer(app)
  // Longer than a load balancer's idle timeout, as recommended for services behind one.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  return server
}

export function listen(server) {
  server.listen(PORT, () => console.log(`listening on ${server.address().port}`))
}

/** Step 1 of the cleanup: write out in-memory state. Hangs forever with HANG_FLUSH=1. */
export async function flush() {
  console.log('cleanup: flush started')
  if (HANG_FLUSH) return new Promise(() => {}) // a store that never answers (no timer keeps Node alive)
  await sleep(20)
  console.log('cleanup: flush done')
}

/** Step 2 of the cleanup: release a distributed lock others are waiting for. Must run even if the flush hung. */
export async function release() {
  console.log('cleanup: release ran')
  await sleep(5)
}
