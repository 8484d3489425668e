// Real socket.io servers and clients on loopback for the adapter's tests, every one of them closed after each
// test. Clients are socket.io-client's own, over WebSocket or HTTP long-polling (with a keep-alive agent, as
// a browser keeps its connections: socket.io-client's Node default opens a new TCP connection per request).
import { once } from 'node:events'
import { Agent, createServer, type Server as HttpServer } from 'node:http'
import { connect as netConnect, type Socket } from 'node:net'
import { Server, type ServerOptions } from 'socket.io'
import { type Socket as ClientSocket, io as connect, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import { afterEach } from 'vitest'

export { listen } from '../../../test/support/servers.js'

const servers: HttpServer[] = []
const ios: Server[] = []
const clients: ClientSocket[] = []
const agents: Agent[] = []
const rawSockets: Socket[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect()
  for (const agent of agents.splice(0)) agent.destroy()
  for (const socket of rawSockets.splice(0)) socket.destroy()
  for (const io of ios.splice(0)) io.engine?.close()
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

/**
 * A socket.io server on an HTTP server of its own, not listening yet: it acknowledges `echo` with what it was
 * sent (and records it), answers `whoami` with its name, and records the disconnect reasons it sees.
 */
export function echoServer(
  name = 'a',
  options: Partial<ServerOptions> = {},
): { server: HttpServer; io: Server; received: string[]; reasons: string[] } {
  const server = createServer((_req, res) => res.end('ok'))
  servers.push(server)
  const io = new Server(server, options)
  ios.push(io)
  const received: string[] = []
  const reasons: string[] = []
  io.on('connection', (socket) => {
    socket.on('echo', (text: string, ack?: (reply: string) => void) => {
      received.push(text)
      ack?.(text)
    })
    socket.on('whoami', (ack: (name: string) => void) => ack(name))
    socket.on('disconnect', (reason) => reasons.push(reason))
  })
  return { server, io, received, reasons }
}

/** Remembers a server made elsewhere, to be closed after the test. */
export function closeAfter(server: HttpServer | Server): void {
  if (server instanceof Server) ios.push(server)
  else servers.push(server)
}

/** What a client saw of a disconnect. */
export interface Disconnect {
  reason: string
  /** performance.now() */
  at: number
}

export type Client = ClientSocket & {
  /** The first disconnect. */
  gone: Promise<Disconnect>
  /** Every disconnect so far. */
  disconnects: Disconnect[]
  /** How many times it connected (1 after the first connect; reconnects add). */
  connects: () => number
}

export type ClientOptions = Partial<ManagerOptions & SocketOptions> & { keepAlive?: boolean }

/** A connected client; `reconnection: false` unless said otherwise, so that a test sees one disconnect. */
export async function client(port: number, options: ClientOptions = {}): Promise<Client> {
  const { keepAlive = true, ...rest } = options
  // The keep-alive agent a browser would be: polls and posts reuse their TCP connections.
  const agent = keepAlive ? new Agent({ keepAlive: true }) : undefined
  if (agent) agents.push(agent)
  const socket = connect(`http://127.0.0.1:${port}`, {
    reconnection: false,
    forceNew: true,
    ...(agent ? { agent: agent as never } : {}),
    ...rest,
  }) as Client
  clients.push(socket)
  let connects = 0
  socket.on('connect', () => connects++)
  socket.connects = () => connects
  socket.disconnects = []
  socket.gone = new Promise((resolve) =>
    socket.on('disconnect', (reason) => {
      const seen = { reason, at: performance.now() }
      socket.disconnects.push(seen)
      resolve(seen)
    }),
  )
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  return socket
}

export function clientsOf(port: number, n: number, options?: ClientOptions): Promise<Client[]> {
  return Promise.all(Array.from({ length: n }, () => client(port, options)))
}

/** Resolves once `check()` holds, checking every 10 ms; rejects after `ms`. */
export async function until(check: () => boolean, ms = 5000, what = 'the condition'): Promise<void> {
  const end = performance.now() + ms
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const POLLING: ClientOptions = { transports: ['polling'] }
export const WEBSOCKET: ClientOptions = { transports: ['websocket'] }

/**
 * A long-polling client written by hand: the engine.io handshake and the socket.io CONNECT, then nothing — it
 * never polls again, so what the server sends it (its close included) stays queued on the server.
 */
export async function deafPollingClient(port: number): Promise<{ sid: string }> {
  const base = `http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`
  const open = await (await fetch(base)).text()
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid
  const posted = await fetch(`${base}&sid=${sid}`, { method: 'POST', body: '40' })
  await posted.text()
  return { sid }
}

/**
 * A WebSocket client written by hand on a raw socket: the upgrade, then it reads nothing and answers nothing
 * (no close frame back), so its close never completes.
 */
export async function deafWebSocketClient(port: number): Promise<Socket> {
  const socket = netConnect(port, '127.0.0.1')
  rawSockets.push(socket)
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(
    'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  )
  await once(socket, 'data')
  socket.pause()
  return socket
}
