// The point of the adapter, end to end: two replicas behind the simulator's kube-proxy (new TCP connections
// round-robin over the ready endpoints, established ones pinned), one of them terminated. Its socket.io
// clients — real socket.io-client, over WebSocket and over keep-alive long-polling — are told to go
// ("transport close"), reconnect on their own, and land on the other replica; nobody is cut, and an emit in
// flight is either acknowledged or resent and acknowledged there.
import { drainHttpServer } from '@lameduck/http'
import { closeSocketIo } from '@lameduck/socket.io'
import { afterEach, describe, expect, it } from 'vitest'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { KubeProxy } from '../../testkit/src/proxy.js'
import { type Client, clientsOf, echoServer, listen, POLLING, until, WEBSOCKET } from './helpers.js'

const proxies: KubeProxy[] = []
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close()
})

async function replicas(names: string[]) {
  const proxy = new KubeProxy()
  proxies.push(proxy)
  const port = await proxy.listen(0)
  const made = await Promise.all(
    names.map(async (name) => {
      const replica = echoServer(name)
      return { name, ...replica, port: await listen(replica.server) }
    }),
  )
  return { proxy, port, replicas: made }
}

const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 }
const whoami = (c: Client) => c.timeout(2000).emitWithAck('whoami') as Promise<string>

describe('a replica terminated behind kube-proxy: its socket.io clients move to the other one', () => {
  it('over WebSocket: each client of A sees "transport close" once, reconnects, and is served by B', async () => {
    const {
      proxy,
      port,
      replicas: [a, b],
    } = await replicas(['a', 'b'])
    proxy.add('a', a!.port)
    proxy.add('b', b!.port)
    const shutdown = testShutdown({ drainDelayMs: 200 })
    drainHttpServer(shutdown, a!.server, { timeoutMs: 3000, checkTimeouts: false })
    const closing = closeSocketIo(shutdown, a!.io, { spreadMs: 600, timeoutMs: 3000 })
    const clients = await clientsOf(port, 12, { ...WEBSOCKET, ...reconnecting })
    const onA = (await Promise.all(clients.map(whoami))).map((name, i) => (name === 'a' ? clients[i]! : undefined))
    const moving = onA.filter((c): c is Client => c !== undefined)
    expect(moving.length).toBe(6)

    // Endpoint removal and SIGTERM at the same moment, as the kubelet does them.
    proxy.remove('a')
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'socket.io-close').outcome).toBe('ok')
    expect(closing.stats).toMatchObject({ connectionsAtStart: 6, closed: 6, terminated: 0 })
    await until(() => moving.every((c) => c.connected && c.connects() === 2), 5000, 'the reconnects')
    for (const c of moving) expect(c.disconnects.map((d) => d.reason)).toEqual(['transport close'])
    expect(await Promise.all(clients.map(whoami))).toEqual(Array(12).fill('b'))
    expect(b!.io.engine.clientsCount).toBe(12)
  })

  it('over keep-alive long-polling: the polls stay on A through the drain delay, then move to B', async () => {
    const {
      proxy,
      port,
      replicas: [a, b],
    } = await replicas(['a', 'b'])
    // A rolling update: A serves everyone, B comes up, A goes.
    proxy.add('a', a!.port)
    const clients = await clientsOf(port, 6, { ...POLLING, ...reconnecting })
    expect(await Promise.all(clients.map(whoami))).toEqual(Array(6).fill('a'))
    proxy.add('b', b!.port)
    proxy.remove('a')
    const shutdown = testShutdown({ drainDelayMs: 500 })
    drainHttpServer(shutdown, a!.server, { timeoutMs: 3000, checkTimeouts: false })
    closeSocketIo(shutdown, a!.io, { spreadMs: 300, timeoutMs: 3000 })
    const run = shutdown.shutdown()
    // Through the drain delay the sessions go on, on the TCP connections pinned to A: lame duck's
    // `Connection: close` would have sent their next polls to B, which knows no such session.
    await delay(150)
    expect(await Promise.all(clients.map(whoami))).toEqual(Array(6).fill('a'))
    const report = await run
    expect(taskReport(report, 'http-drain').outcome).toBe('ok')
    expect(taskReport(report, 'socket.io-close').outcome).toBe('ok')
    await until(() => clients.every((c) => c.connected && c.connects() === 2), 5000, 'the reconnects')
    for (const c of clients) expect(c.disconnects.map((d) => d.reason)).toEqual(['transport close'])
    expect(await Promise.all(clients.map(whoami))).toEqual(Array(6).fill('b'))
  })

  it('an emit in flight when A closes is resent by the client (retries) and acknowledged by B', async () => {
    const {
      proxy,
      port,
      replicas: [a, b],
    } = await replicas(['a', 'b'])
    proxy.add('a', a!.port)
    const handled: string[] = []
    // A takes its time acknowledging `order`: longer than it has before its connections are closed.
    a!.io.on('connection', (socket) =>
      socket.on('order', (id: string, ack: (by: string) => void) => {
        handled.push(`a:${id}`)
        setTimeout(() => ack('a'), 2000)
      }),
    )
    b!.io.on('connection', (socket) =>
      socket.on('order', (id: string, ack: (by: string) => void) => {
        handled.push(`b:${id}`)
        ack('b')
      }),
    )
    const [c] = await clientsOf(port, 1, { ...WEBSOCKET, ...reconnecting, retries: 3, ackTimeout: 1000 })
    proxy.add('b', b!.port)
    proxy.remove('a')
    const shutdown = testShutdown()
    closeSocketIo(shutdown, a!.io, { spreadMs: 0 })
    const acked = c!.emitWithAck('order', 'o-1') as Promise<string>
    await until(() => handled.length === 1)
    await shutdown.shutdown()
    expect(await acked).toBe('b')
    // At least once: A had it too, and never got to acknowledge it.
    expect(handled).toEqual(['a:o-1', 'b:o-1'])
  })
})
