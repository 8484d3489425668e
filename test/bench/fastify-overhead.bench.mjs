// Requests/s of a Fastify app with the lameduck plugin (probes as routes, drain tracking, the close task)
// against the same app without, rotating slices in one run so that noise hits both alike.
import { fileURLToPath } from 'node:url'
import { measureOverhead } from './overhead.mjs'

const [, plugin] = await measureOverhead({
  title: 'fastify: Fastify app',
  fixture: fileURLToPath(new URL('./fixtures/fastify-server.mjs', import.meta.url)),
  arms: [
    { name: 'without lameduck', mode: '0' },
    { name: 'lameduck plugin', mode: '1' },
  ],
})
// The acceptance: at least 97 % of the same app's requests/s without the plugin.
if (plugin.rpsRatio < 0.97) {
  console.log('  the plugin below the 97% acceptance bound')
  process.exitCode = 1
}
