// lightship, as its README shows for Express: probes on their own port (ADMIN_PORT here), `shutdownDelay`
// set to the drain delay, `detectKubernetes: false` so that it behaves as in a cluster, the server closed
// by a shutdown handler (`server.close()`, not awaited, as in the README), then the flush and the release
// as further handlers, run in registration order; `shutdownHandlerTimeout` fitted into the grace period.
import { createApp, createHttpServer, DRAIN_DELAY_MS, flush, GRACE_MS, listen, MARGIN_MS, release } from './common.mjs'

// lightship@7.3.0 as published on npm has no dist/ (its exports point at a missing ./dist/index.js);
// test/bench/peers/run.mjs transpiles its src/ and passes the entry point in LIGHTSHIP_MODULE.
const { createLightship } = await import(process.env.LIGHTSHIP_MODULE || 'lightship')

const handlersTimeoutMs = GRACE_MS - DRAIN_DELAY_MS - MARGIN_MS
const lightship = await createLightship({
  detectKubernetes: false,
  port: Number(process.env.ADMIN_PORT ?? 9000),
  shutdownDelay: DRAIN_DELAY_MS,
  shutdownHandlerTimeout: handlersTimeoutMs,
  gracefulShutdownTimeout: handlersTimeoutMs,
})
const server = createHttpServer(createApp())
lightship.registerShutdownHandler(() => {
  server.close()
})
lightship.registerShutdownHandler(() => flush())
lightship.registerShutdownHandler(() => release())
server.on('listening', () => lightship.signalReady())
listen(server)
