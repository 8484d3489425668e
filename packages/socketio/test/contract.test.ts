// The adapter contract of @lameduck/core/adapter for closeSocketIo, through the shared table-driven suite,
// and what a JavaScript caller can get wrong with its own arguments: one named error per mistake.
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { CLOSE_OPTIONS, closeSocketIo, SOCKETIO_DEFAULTS, type SocketIoServerLike } from '@lameduck/socket.io'
import { Server } from 'socket.io'
import { io as connect } from 'socket.io-client'
import { describe, expect, it } from 'vitest'
import { describeAdapterContract, expectRefused } from '../../../test/support/adapter-contract.js'
import { testShutdown } from '../../../test/support/shutdown.js'

// Built first (pnpm --filter @lameduck/socket.io build): the CommonJS copy of the package.
const commonJs = createRequire(import.meta.url)('@lameduck/socket.io') as typeof import('@lameduck/socket.io')

/** A socket.io server attached to an HTTP server that never listens. */
const idleIo = () => new Server(createServer())

describeAdapterContract('@lameduck/socket.io', [
  {
    where: 'closeSocketIo',
    defaults: SOCKETIO_DEFAULTS,
    resource: idleIo,
    register: (shutdown, resource, options) => closeSocketIo(shutdown, resource as Server, options as never),
    members: ['connections', 'stats'],
    durations: { spreadMs: {}, handshakeMs: {} },
    registerCommonJs: (shutdown, resource) => commonJs.closeSocketIo(shutdown, resource as Server),
    dispose: (resource) => (resource as Server).engine.close(),
  },
])

describe('closeSocketIo: wrong arguments and options', () => {
  const shutdown = testShutdown()
  const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'

  it('refuses what is not a socket.io Server: an HTTP server, a client socket, a server not attached yet, nothing', async () => {
    const call = (io: unknown) => () => closeSocketIo(shutdown, io as SocketIoServerLike)
    await expectRefused(
      call(createServer()),
      INVALID,
      /io argument of closeSocketIo: expected a socket.io Server attached to its HTTP server/,
    )
    const client = connect('http://127.0.0.1:9', { autoConnect: false })
    await expectRefused(call(client), INVALID, /expected a socket.io Server/)
    // new Server() without an HTTP server has no engine until io.attach() or io.listen().
    await expectRefused(call(new Server()), INVALID, /attached to its HTTP server.*or after io\.attach\(\)/)
    for (const nothing of [undefined, null, 'io', {}])
      await expectRefused(call(nothing), INVALID, /io argument of closeSocketIo/)
    await expectRefused(
      () => closeSocketIo(idleIo() as never, idleIo()),
      INVALID,
      /shutdown argument of closeSocketIo.*closeSocketIo\(shutdown, io, options\?\)/,
    )
  })

  it('refuses a socket.io older than 4.6 (an engine without use()), saying which version it needs', async () => {
    const io = idleIo()
    const old = {
      engine: { on: io.engine.on.bind(io.engine), off: io.engine.off.bind(io.engine) },
      path: () => '/socket.io',
      close: () => {},
    }
    await expectRefused(
      () => closeSocketIo(shutdown, old as never),
      INVALID,
      /expected socket\.io 4\.6 or later \(engine\.io 6\.4: io\.engine\.use\(\)\)/,
    )
  })

  it('refuses typos with a suggestion, and knows exactly its options', async () => {
    await expectRefused(
      () => closeSocketIo(shutdown, idleIo(), { spread: 100 } as never),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /closeSocketIo: unknown option "spread" — did you mean "spreadMs"\?/,
    )
    expect([...CLOSE_OPTIONS].sort()).toEqual(['critical', 'handshakeMs', 'name', 'phase', 'spreadMs', 'timeoutMs'])
  })

  it('nothing is left on the server by a refused call; remove() takes its listener off again', () => {
    const io = idleIo()
    const listeners = () => io.engine.listenerCount('connection')
    const before = listeners()
    expect(() => closeSocketIo(shutdown, io, { spreadMs: -1 })).toThrow()
    expect(listeners()).toBe(before)
    const ok = closeSocketIo(shutdown, io)
    expect(listeners()).toBe(before + 1)
    ok.remove()
    expect(listeners()).toBe(before)
  })
})
