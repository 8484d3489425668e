// @godaddy/terminus, as its README recommends for Kubernetes: a health check, `beforeShutdown` waiting
// the drain delay, `useExit0: true`, `onSignal` doing the cleanup (flush, then release), and `timeout`
// (the time in-flight requests get once the server stops) fitted into the grace period.
import { createTerminus } from '@godaddy/terminus'
import {
  createApp,
  createHttpServer,
  DRAIN_DELAY_MS,
  flush,
  HTTP_CLOSE_TIMEOUT_MS,
  listen,
  release,
  sleep,
} from './common.mjs'

const server = createHttpServer(createApp())
createTerminus(server, {
  healthChecks: { '/healthcheck': async () => {} },
  signal: 'SIGTERM',
  timeout: HTTP_CLOSE_TIMEOUT_MS,
  useExit0: true,
  beforeShutdown: () => sleep(DRAIN_DELAY_MS),
  onSignal: async () => {
    await flush()
    await release()
  },
})
listen(server)
