// http-graceful-shutdown, with its own options: `preShutdown` waits the drain delay (sockets untouched),
// `timeout` (after which remaining connections are destroyed) fitted into the grace period, the flush in
// `onShutdown` and the lock release in `finally`; `forceExit` stays at its default (true).
import gracefulShutdown from 'http-graceful-shutdown'
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
gracefulShutdown(server, {
  signals: 'SIGINT SIGTERM',
  timeout: HTTP_CLOSE_TIMEOUT_MS,
  preShutdown: () => sleep(DRAIN_DELAY_MS),
  onShutdown: () => flush(),
  finally: () => release(),
})
listen(server)
