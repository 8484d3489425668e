// lameduck: createShutdown with the drain delay, the Express middleware first, drainHttpServer before
// listen() with the same in-flight budget as the others, the flush as a `flush`-phase task and the lock
// release as a `release`-phase task, each with its own budget (the release runs even if the flush times out).
import { createShutdown } from '@lameduck/core'
import { lameduck } from '@lameduck/express'
import { drainHttpServer } from '@lameduck/http'
import {
  createApp,
  createHttpServer,
  DRAIN_DELAY_MS,
  FLUSH_BUDGET_MS,
  flush,
  GRACE_MS,
  HTTP_CLOSE_TIMEOUT_MS,
  listen,
  RELEASE_BUDGET_MS,
  release,
} from './common.mjs'

const shutdown = createShutdown({ drainDelayMs: DRAIN_DELAY_MS, gracePeriodMs: GRACE_MS })
const app = createApp((app) => app.use(lameduck(shutdown))) // token from LAMEDUCK_SHUTDOWN_TOKEN
const server = createHttpServer(app)
// Before listen(), so it sees every connection; its budget for in-flight requests fitted into the grace period
// like the other libraries' (its default, 10 s, is the whole grace period here).
drainHttpServer(shutdown, server, { timeoutMs: HTTP_CLOSE_TIMEOUT_MS })
shutdown.addTask({ name: 'flush-store', phase: 'flush', timeoutMs: FLUSH_BUDGET_MS, run: () => flush() })
shutdown.addTask({ name: 'release-lock', phase: 'release', timeoutMs: RELEASE_BUDGET_MS, run: () => release() })
listen(server)
