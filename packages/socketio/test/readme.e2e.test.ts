// The README's snippet runs as written, as a user's service would: its own process, real socket.io clients
// over WebSocket and long-polling, SIGTERM. (A service of its own: an e2e file, run one at a time.)
import { afterAll, describe, expect, it } from 'vitest'
import { firstBlock, project, readReadme, removeProjects, serve } from '../../../test/support/readme.js'
import { type Client, client, POLLING, WEBSOCKET } from './helpers.js'

const readme = readReadme('packages/socketio/README.md')

describe('the README snippet, as written', () => {
  afterAll(removeProjects)

  it('serves socket.io, and at SIGTERM tells every client to reconnect ("transport close"), spread over its 3 s, then exits 0', async () => {
    // A user's project: the snippet as server.mjs beside a node_modules holding the built packages and socket.io.
    const dir = project(
      { 'server.mjs': firstBlock(readme, 'ts') },
      { packages: ['socketio'], modules: { 'socket.io': 'socketio' } },
    )
    const service = await serve(dir)
    try {
      const first = await service.reach((port) => client(port, WEBSOCKET))
      expect(first, service.output).toBeDefined()
      const { port } = service
      const clients = [
        first as Client,
        ...(await Promise.all(Array.from({ length: 9 }, () => client(port, WEBSOCKET)))),
        ...(await Promise.all(Array.from({ length: 10 }, () => client(port, POLLING)))),
      ]
      for (const c of clients) expect(await c.timeout(2000).emitWithAck('echo', 'hi')).toBe('hi')
      service.kill('SIGTERM')
      const gone = await Promise.all(clients.map((c) => c.gone))
      for (const seen of gone) expect(seen.reason, service.output).toBe('transport close')
      const times = gone.map((d) => d.at)
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2000)
      expect(await service.exited, service.output).toBe(0)
    } finally {
      service.kill()
    }
  }, 30_000)
})
