// Requests/s of an Express app with lameduck — the middleware, or withLameduck() in front of the router, each
// with drain tracking — against the same app without, rotating slices in one run so that noise hits all alike.
import { fileURLToPath } from 'node:url'
import { measureOverhead } from './overhead.mjs'

const results = await measureOverhead({
  title: 'http: Express app',
  fixture: fileURLToPath(new URL('./fixtures/express-server.mjs', import.meta.url)),
  arms: [
    { name: 'without lameduck', mode: '0' },
    { name: 'lameduck() middleware', mode: '1' },
    { name: 'withLameduck() in front', mode: 'server' },
    { name: 'a no-op app.use() layer', mode: 'noop' },
    { name: 'withLameduck() + a no-op layer', mode: 'server+noop' },
  ],
})
// The acceptance: withLameduck() — the probes in front of the router — at least 97 % of the same app's
// requests/s without lameduck. The middleware costs one Express layer more, as any app.use() does: it is
// reported beside a no-op app.use() layer, not gated; and beside withLameduck() with a no-op layer, which has
// the same layer, probes and drain tracking: like for like, the cost of the probes being in a layer.
const [, middleware, inFront, noop, inFrontNoop] = results
const pct = (ratio) => `${((1 - ratio) * 100).toFixed(1)} %`
console.log(
  `  the middleware costs ${pct(middleware.cpuRatio)} of capacity, a no-op app.use() layer ${pct(noop.cpuRatio)}, ` +
    `withLameduck() with a no-op layer ${pct(inFrontNoop.cpuRatio)}`,
)
if (inFront.rpsRatio < 0.97) {
  console.log('  withLameduck() below the 97% acceptance bound')
  process.exitCode = 1
}
