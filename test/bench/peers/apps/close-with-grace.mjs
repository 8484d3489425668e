// close-with-grace: its `delay` option is the time the whole close may take before process.exit(1), set
// to the grace period minus the margin; the callback waits the drain delay, closes the server, then
// flushes and releases. close-with-grace exits 0 when the callback resolves.
import closeWithGrace from 'close-with-grace'
import {
  createApp,
  createHttpServer,
  DRAIN_DELAY_MS,
  flush,
  GRACE_MS,
  listen,
  MARGIN_MS,
  release,
  sleep,
} from './common.mjs'

const server = createHttpServer(createApp())
closeWithGrace({ delay: GRACE_MS - MARGIN_MS }, async ({ err }) => {
  if (err) console.error(err)
  await sleep(DRAIN_DELAY_MS)
  await new Promise((resolve) => server.close(resolve))
  await flush()
  await release()
})
listen(server)
