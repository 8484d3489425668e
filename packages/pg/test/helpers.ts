import { randomUUID } from 'node:crypto'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import pg from 'pg'
import { afterEach } from 'vitest'
import { DATABASE_URL } from '../../../test/support/services.js'

const pools: pg.Pool[] = []
const clients: pg.Client[] = []
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  for (const client of clients.splice(0)) await client.end().catch(() => {})
  for (const pool of pools.splice(0)) if (!pool.ending) await pool.end().catch(() => {})
})

/** A pool closed after the test (unless the test ended it). */
export function makePool(config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, ...config })
  pool.on('error', () => {})
  pools.push(pool)
  return pool
}

/** A separate session, ended after the test. */
export async function makeClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  client.on('error', () => {})
  clients.push(client)
  await client.connect()
  return client
}

export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup)
}

export function uniqueName(prefix = 'lameduck_test'): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`
}

/**
 * A TCP proxy to PostgreSQL that can be frozen: from then on nothing passes in either direction and
 * nothing is closed — PostgreSQL "gone" as a network partition looks to the client.
 */
export async function startProxy(): Promise<{ url: string; freeze(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let frozen = false
  const server: Server = createServer((socket) => {
    const upstream = connectToDatabase()
    sockets.add(socket)
    sockets.add(upstream)
    socket.on('data', (chunk) => {
      if (!frozen) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!frozen) socket.write(chunk)
    })
    const end = () => {
      if (frozen) return
      socket.destroy()
      upstream.destroy()
    }
    socket.on('close', end)
    upstream.on('close', end)
    socket.on('error', () => {})
    upstream.on('error', () => {})
  })
  return {
    url: await listenAsDatabase(server),
    freeze() {
      frozen = true
    },
    async close() {
      frozen = true
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Listens on a loopback port; resolves to DATABASE_URL pointed at it (same user and database). */
async function listenAsDatabase(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = new URL(DATABASE_URL)
  url.hostname = '127.0.0.1'
  url.port = String((server.address() as { port: number }).port)
  return url.toString()
}

/** A new TCP connection to the real PostgreSQL. */
function connectToDatabase(): Socket {
  const { hostname, port } = new URL(DATABASE_URL)
  return tcpConnect({ host: hostname, port: Number(port || 5432) })
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * A transaction-mode pooler in miniature, speaking the real PostgreSQL wire protocol: every client
 * connection gets two server connections, and each request — a simple query, or an extended-protocol
 * group up to its Sync — goes to the next one in turn whenever no transaction is open, as pgbouncer's
 * `pool_mode = transaction` may do. Only trust authentication, no TLS: enough for the tests' server.
 */
export async function startTransactionPooler(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    return socket
  }
  const server: Server = createServer((client) => {
    track(client)
    const upstreams = [0, 1].map(() => track(connectToDatabase()))
    for (const upstream of upstreams) upstream.once('close', () => client.destroy())
    client.once('close', () => {
      for (const upstream of upstreams) upstream.destroy()
    })
    // Which upstream answers the client now; the other's startup replies are swallowed.
    let current = 0
    let next = 0
    let inTransaction = false
    let started = false
    upstreams.forEach((upstream, index) => {
      frames(upstream, true, (type, frame) => {
        if (type === 'Z') {
          const status = String.fromCharCode(frame[5] as number)
          if (index === current) inTransaction = status !== 'I'
        }
        if (index === current) client.write(frame)
      })
    })
    let pending: Buffer[] = []
    frames(client, false, (type, frame) => {
      if (!started) {
        // The startup message goes to both server connections.
        started = true
        for (const upstream of upstreams) upstream.write(frame)
        return
      }
      if (type === 'X') {
        for (const upstream of upstreams) upstream.end(frame)
        return
      }
      pending.push(frame)
      if (type !== 'Q' && type !== 'S') return
      // A request is complete: pick its server connection (a new one unless a transaction is open).
      if (!inTransaction) {
        current = next
        next = (next + 1) % upstreams.length
      }
      const target = upstreams[current] as Socket
      for (const part of pending) target.write(part)
      pending = []
    })
  })
  return {
    url: await listenAsDatabase(server),
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * Splits a PostgreSQL protocol stream into whole messages: a type byte and an Int32 length — except the
 * client's first message (startup), which has no type byte.
 */
function frames(socket: Socket, typed: boolean, onFrame: (type: string, frame: Buffer) => void): void {
  let buffer = Buffer.alloc(0)
  let first = !typed
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    for (;;) {
      if (first) {
        if (buffer.length < 4) return
        const length = buffer.readInt32BE(0)
        if (buffer.length < length) return
        first = false
        onFrame('', buffer.subarray(0, length))
        buffer = buffer.subarray(length)
        continue
      }
      if (buffer.length < 5) return
      const length = buffer.readInt32BE(1) + 1
      if (buffer.length < length) return
      onFrame(String.fromCharCode(buffer[0] as number), buffer.subarray(0, length))
      buffer = buffer.subarray(length)
    }
  })
}
