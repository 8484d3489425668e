import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { DuplicateRegistrationError } from '@lameduck/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'
import { closeNetServer, NET_DEFAULTS } from '../../../docs/examples/close-net-server.js'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'

// The example adapter of docs/writing-an-adapter.md, run for real: a TCP server, real client sockets.
const guide = readFileSync(new URL('../../../docs/writing-an-adapter.md', import.meta.url), 'utf8')
const source = readFileSync(new URL('../../../docs/examples/close-net-server.ts', import.meta.url), 'utf8')

const servers: Server[] = []
const clients: Socket[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy()
  for (const server of servers.splice(0)) server.close()
})

async function listening(): Promise<Server> {
  const server = createServer((socket) => socket.on('data', (data) => socket.write(data)))
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

async function client(server: Server, polite: boolean): Promise<Socket & { sawEnd: Promise<void> }> {
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1') as Socket & { sawEnd: Promise<void> }
  clients.push(socket)
  // A polite client closes its side when the server ends the stream; an impolite one keeps it open.
  socket.allowHalfOpen = !polite
  socket.sawEnd = new Promise((resolve) => socket.once('end', () => resolve()))
  socket.on('error', () => {})
  socket.resume()
  await once(socket, 'connect')
  return socket
}

describe('docs/writing-an-adapter.md', () => {
  it('shows the example adapter exactly as the file this test runs', () => {
    expect(guide).toContain(`\`\`\`ts\n${source.trimEnd()}\n\`\`\``)
  })

  it('drains a real server: polite clients end, the rest are destroyed at the grace and reported', async () => {
    const shutdown = testShutdown()
    const server = await listening()
    const drain = closeNetServer(shutdown, server, { endGraceMs: 300 })
    const polite = await client(server, true)
    const stubborn = await client(server, false)
    // The server has seen both connections.
    await new Promise((resolve) => setImmediate(resolve))
    const report = await shutdown.shutdown()
    await polite.sawEnd
    await stubborn.sawEnd
    expect(drain.stats).toEqual({ open: 2, forced: 1 })
    expect(taskReport(report, NET_DEFAULTS.name)).toMatchObject({
      phase: 'drain',
      outcome: 'error',
      code: 'LAMEDUCK_ERR_NET_DRAIN_FORCED',
    })
    // The server is closed, and its end of the stubborn connection destroyed.
    expect(server.listening).toBe(false)
    const open = await new Promise<number>((resolve, reject) =>
      server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    )
    expect(open).toBe(0)
  })

  it('ends cleanly when every client is polite', async () => {
    const shutdown = testShutdown()
    const server = await listening()
    const drain = closeNetServer(shutdown, server)
    await client(server, true)
    await client(server, true)
    await new Promise((resolve) => setImmediate(resolve))
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'net-server').outcome).toBe('ok')
    expect(drain.stats).toEqual({ open: 2, forced: 0 })
  })

  it('follows the one contract: handle shape, naming, duplicates, option errors, remove()', async () => {
    const shutdown = testShutdown()
    const a = await listening()
    const b = await listening()
    const first = closeNetServer(shutdown, a)
    expect(closeNetServer(shutdown, b).name).toBe('net-server-2')
    expect(() => closeNetServer(shutdown, a)).toThrow(DuplicateRegistrationError)
    expect(typeof first.remove).toBe('function')
    expect(first[Symbol.dispose]).toBe(first.remove)
    expect(() => closeNetServer(shutdown, b, { endGraceMs: -1 })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    expect(() => closeNetServer(shutdown, b, { timeout: 5 } as never)).toThrow(/did you mean "timeoutMs"/)
    expect(() => closeNetServer(a as never, b)).toThrow(/the coordinator comes first/)
    expect(() => closeNetServer(shutdown, {} as never)).toThrow(/expected a net.Server; got an object/)
    const listeners = a.listenerCount('connection')
    first.remove()
    expect(a.listenerCount('connection')).toBe(listeners - 1)
    expect(() => closeNetServer(shutdown, a)).not.toThrow()
  })
})
