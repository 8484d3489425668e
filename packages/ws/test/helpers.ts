// Real ws servers and clients on loopback for the adapter's tests, every one of them closed after each test.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterEach } from 'vitest'
import { type ServerOptions, WebSocket, WebSocketServer } from 'ws'
import { tls } from '../../http/test/helpers.js'

export { listen } from '../../../test/support/servers.js'

const servers: Server[] = []
const wsServers: WebSocketServer[] = []
const clients: WebSocket[] = []
const sockets: Socket[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate()
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const wss of wsServers.splice(0)) {
    for (const ws of wss.clients ?? []) ws.terminate()
    wss.close()
  }
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

/** An echo WebSocket server on an HTTP (or HTTPS) server of its own, not listening yet. */
export function echoServer(options: Omit<ServerOptions, 'server' | 'port' | 'noServer'> & { secure?: boolean } = {}): {
  server: Server
  wss: WebSocketServer
  received: string[]
} {
  const { secure = false, ...wsOptions } = options
  const server = secure
    ? createHttpsServer(tls, (_req, res) => res.end('ok'))
    : createServer((_req, res) => res.end('ok'))
  servers.push(server)
  const wss = new WebSocketServer({ server, ...wsOptions })
  wsServers.push(wss)
  const received: string[] = []
  wss.on('connection', (ws) =>
    ws.on('message', (data, isBinary) => {
      received.push(String(data))
      ws.send(data, { binary: isBinary })
    }),
  )
  return { server, wss, received }
}

/** A WebSocketServer to give the adapter (contract tests, misuse): never listens. */
export function idleWss(options: ServerOptions = { noServer: true }): WebSocketServer {
  const wss = new WebSocketServer(options)
  wsServers.push(wss)
  return wss
}

/** Remembers a server made elsewhere, to be closed after the test. */
export function closeAfter(server: Server | WebSocketServer): void {
  if (server instanceof WebSocketServer) wsServers.push(server)
  else servers.push(server)
}

/** What a client saw of its close. */
export interface Closed {
  code: number
  reason: string
  /** performance.now() */
  at: number
}

export type Client = WebSocket & { closed: Promise<Closed> }

/** A client, open; `closed` resolves with the close it saw. */
export async function client(port: number, { secure = false, path = '/' } = {}): Promise<Client> {
  const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://127.0.0.1:${port}${path}`, {
    rejectUnauthorized: false,
  }) as Client
  clients.push(ws)
  ws.on('error', () => {})
  ws.closed = new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason), at: performance.now() })),
  )
  await once(ws, 'open')
  return ws
}

export function clientsOf(port: number, n: number, options?: { secure?: boolean; path?: string }): Promise<Client[]> {
  return Promise.all(Array.from({ length: n }, () => client(port, options)))
}

/** Sends `text` and resolves once the echo is back. */
export function echo(ws: WebSocket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: unknown) => {
      if (String(data) !== text) return
      ws.off('message', onMessage)
      resolve()
    }
    ws.on('message', onMessage)
    ws.send(text, (error) => error && reject(error))
  })
}

/**
 * A WebSocket client written by hand over a raw socket, for what ws's own client would not do: it sees the
 * server's frames as they come (`frames`), answers nothing by itself, and sends what the test says when.
 */
export interface RawClient {
  socket: Socket
  /** Opcodes of the frames received so far (0x1 text, 0x8 close, …), with their payloads. */
  frames: { opcode: number; payload: Buffer }[]
  /** Resolves at the first frame with this opcode. */
  frame(opcode: number): Promise<Buffer>
  send(opcode: number, payload: Buffer | string): void
  closedAt: Promise<number>
}

export async function rawClient(port: number, { read = true, secure = false } = {}): Promise<RawClient> {
  const socket: Socket = secure
    ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
    : connect({ port, host: '127.0.0.1' })
  sockets.push(socket)
  socket.on('error', () => {})
  const closedAt = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())))
  await once(socket, secure ? 'secureConnect' : 'connect')
  socket.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  )
  const frames: RawClient['frames'] = []
  const waiting: { opcode: number; resolve: (payload: Buffer) => void }[] = []
  let buffer = Buffer.alloc(0)
  let upgraded = false
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        if (!buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return reject(new Error('not upgraded'))
        upgraded = true
        buffer = buffer.subarray(end + 4)
        resolve()
        // Not reading from here on: the server's frames stay in the kernel's buffers.
        if (!read) {
          socket.off('data', onData)
          socket.pause()
          return
        }
      }
      // Unmasked server frames with payloads under 126 bytes are all these tests need.
      while (buffer.length >= 2 && buffer.length >= 2 + ((buffer[1] as number) & 0x7f)) {
        const opcode = (buffer[0] as number) & 0x0f
        const length = (buffer[1] as number) & 0x7f
        const payload = buffer.subarray(2, 2 + length)
        buffer = buffer.subarray(2 + length)
        frames.push({ opcode, payload })
        for (const w of waiting.filter((x) => x.opcode === opcode)) w.resolve(payload)
      }
    }
    socket.on('data', onData)
  })
  return {
    socket,
    frames,
    closedAt,
    frame(opcode) {
      const seen = frames.find((f) => f.opcode === opcode)
      if (seen) return Promise.resolve(seen.payload)
      return new Promise((resolve) => waiting.push({ opcode, resolve }))
    },
    send(opcode, payload) {
      const data = Buffer.from(payload)
      const mask = Buffer.from([1, 2, 3, 4])
      const masked = Buffer.from(data.map((byte, i) => byte ^ (mask[i % 4] as number)))
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length]), mask, masked]))
    },
  }
}
