// The smallest lameduck service: a node:http server that drops no request when its pod terminates.
import { createServer } from 'node:http'
import { createShutdown } from '@lameduck/core'
import { createProbes, drainHttpServer } from '@lameduck/http'

const shutdown = createShutdown({
  // Longer than the time your cluster takes to remove a terminating pod's endpoints everywhere.
  drainDelayMs: Number(process.env.DRAIN_DELAY_MS ?? 5000),
})

// /healthz, /readyz and /shutdown (the preStop hook's target; needs LAMEDUCK_SHUTDOWN_TOKEN).
const probes = createProbes(shutdown)

const server = createServer((req, res) => {
  if (probes(req, res)) return
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname === '/slow') {
    // A slow request, to watch the drain wait for it.
    setTimeout(() => res.end('slow done\n'), Number(url.searchParams.get('ms') ?? 1000))
    return
  }
  res.end('hello\n')
})
// Keep connections longer than a load balancer's idle timeout, so the server is never the one to
// close a connection the balancer is about to reuse.
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000

drainHttpServer(shutdown, server) // before listen(), so it sees every connection
server.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on ${server.address().port}`)
})
