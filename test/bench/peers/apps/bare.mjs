// The baseline without a library: on SIGTERM, server.close() at once (no drain delay, no timeout), then
// flush and release once every connection has closed. The process ends when nothing is left to do.
import { createApp, createHttpServer, flush, listen, release } from './common.mjs'

const server = createHttpServer(createApp())
process.once('SIGTERM', () => {
  server.close(async () => {
    await flush()
    await release()
  })
})
listen(server)
