// http-terminator: it only closes the server, so the SIGTERM handler is ours: wait the drain delay, then
// `terminate()` (with `gracefulTerminationTimeout` fitted into the grace period), then flush and release.
// Like the README it does not call process.exit(): the process ends when nothing is left to do.
import { createHttpTerminator } from 'http-terminator'
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
const httpTerminator = createHttpTerminator({ server, gracefulTerminationTimeout: HTTP_CLOSE_TIMEOUT_MS })
process.once('SIGTERM', async () => {
  await sleep(DRAIN_DELAY_MS)
  await httpTerminator.terminate()
  await flush()
  await release()
})
listen(server)
