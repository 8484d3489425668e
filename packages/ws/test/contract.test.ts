// The adapter contract of @lameduck/core/adapter for closeWebSockets, through the shared table-driven suite,
// and what a JavaScript caller can get wrong with its own options: one named error per mistake.
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { closeWebSockets, WS_DEFAULTS } from '@lameduck/ws'
import { describe, expect, it } from 'vitest'
import { WebSocket, type WebSocketServer } from 'ws'
import { describeAdapterContract, expectRefused } from '../../../test/support/adapter-contract.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { idleWss } from './helpers.js'

// Built first (pnpm --filter @lameduck/ws build): the CommonJS copy of the package.
const commonJs = createRequire(import.meta.url)('@lameduck/ws') as typeof import('@lameduck/ws')

describeAdapterContract('@lameduck/ws', [
  {
    where: 'closeWebSockets',
    defaults: WS_DEFAULTS,
    resource: () => idleWss(),
    register: (shutdown, resource, options) => closeWebSockets(shutdown, resource as WebSocketServer, options as never),
    members: ['connections', 'stats'],
    durations: { spreadMs: {}, handshakeMs: {} },
    registerCommonJs: (shutdown, resource) => commonJs.closeWebSockets(shutdown, resource as WebSocketServer),
  },
])

describe('closeWebSockets: wrong arguments and options', () => {
  const shutdown = testShutdown()
  const wss = idleWss()
  const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
  const call =
    (options: unknown, server: unknown = wss) =>
    () =>
      closeWebSockets(shutdown, server as WebSocketServer, options as never)

  it('refuses close codes a server may not send, naming the option', async () => {
    for (const code of [1004, 1005, 1006, 1015, 999, 2000, 5000, 1012.5, '1012', null])
      await expectRefused(call({ code }), INVALID, /code of closeWebSockets: expected a close code a server may send/)
    for (const code of [1000, 1001, 1011, 1012, 1013, 3000, 4999]) call({ code })().remove()
  })

  it('refuses a reason that is not a string or longer than a close frame holds (123 bytes)', async () => {
    await expectRefused(call({ reason: 5 }), INVALID, /reason of closeWebSockets: expected a string; got 5/)
    await expectRefused(call({ reason: 'é'.repeat(62) }), INVALID, /at most 123 bytes of UTF-8; got 124/)
    call({ reason: 'x'.repeat(123) })().remove()
    call({ reason: '' })().remove()
  })

  it('refuses an unknown lateMessages, and typos with a suggestion', async () => {
    await expectRefused(
      call({ lateMessages: 'keep' }),
      INVALID,
      /lateMessages of closeWebSockets: expected one of "deliver", "drop"; got "keep"/,
    )
    await expectRefused(
      call({ spread: 100 }),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /closeWebSockets: unknown option "spread" — did you mean "spreadMs"\?/,
    )
  })

  it('refuses what is not a WebSocketServer: a client WebSocket, an HTTP server, nothing', async () => {
    const socket = new WebSocket('ws://127.0.0.1:9', { autoPong: true })
    socket.on('error', () => {})
    await expectRefused(
      call({}, socket),
      INVALID,
      /wss argument of closeWebSockets: expected a WebSocketServer of ws; got .*which has no handleUpgrade\(\) method/,
    )
    socket.terminate()
    await expectRefused(call({}, createServer()), INVALID, /which has no handleUpgrade\(\) method/)
    for (const nothing of [undefined, null, 'ws'])
      await expectRefused(
        () => closeWebSockets(shutdown, nothing as never),
        INVALID,
        /wss argument of closeWebSockets: expected a WebSocketServer/,
      )
    await expectRefused(
      () => closeWebSockets(wss as never, wss),
      INVALID,
      /shutdown argument of closeWebSockets.*closeWebSockets\(shutdown, wss, options\?\)/,
    )
  })

  it('nothing is left on the server by a refused call', () => {
    const server = idleWss()
    const listeners = () => server.listenerCount('headers') + server.listenerCount('connection')
    expect(call({ code: 1006 }, server)).toThrow()
    expect(listeners()).toBe(0)
    const ok = call({}, server)()
    expect(listeners()).toBe(2)
    ok.remove()
    expect(listeners()).toBe(0)
  })
})
