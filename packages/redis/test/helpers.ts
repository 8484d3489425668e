import { randomUUID } from 'node:crypto'
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { REDIS_URL } from '../../../test/support/services.js'

/** A unique prefix per test run, so parallel runs never share keys. */
export function runPrefix(): string {
  return `lameduck-test:${randomUUID()}:`
}

const clients: Redis[] = []

/** A client of the real Redis; disconnected by {@link cleanup}. */
export function client(options: RedisOptions = {}): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, ...options })
  clients.push(redis)
  return redis
}

/** Deletes every key under `prefix` and disconnects the clients made by {@link client}. */
export async function cleanup(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await admin.del(...keys)
    } while (cursor !== '0')
  } finally {
    admin.disconnect()
    for (const redis of clients.splice(0)) redis.disconnect()
  }
}

/** Counts `redis.pipeline()` calls: one per round trip of a pipelined batch. */
export function countPipelines(redis: Redis): { readonly calls: number } {
  const original = redis.pipeline.bind(redis)
  const counter = { calls: 0 }
  redis.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
    counter.calls++
    return original(...args)
  }) as Redis['pipeline']
  return counter
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * A TCP proxy to the real Redis that can turn into a black hole: connections stay open, but nothing
 * gets through any more — Redis hung or a network partition, the hardest case for a timeout. With
 * `'replies'`, commands still reach Redis and run, but their replies are lost on the way back.
 */
export async function blackholeProxy(): Promise<{
  port: number
  blackhole(direction?: 'both' | 'replies'): void
  close(): Promise<void>
}> {
  const { hostname, port: redisPort } = new URL(REDIS_URL)
  let blockCommands = false
  let blockReplies = false
  const sockets = new Set<Socket>()
  const server: Server = createServer((downstream) => {
    const upstream = tcpConnect({ host: hostname, port: Number(redisPort) })
    sockets.add(downstream).add(upstream)
    downstream.on('data', (data) => blockCommands || upstream.write(data))
    upstream.on('data', (data) => blockReplies || downstream.write(data))
    for (const [a, b] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      a.on('error', () => b.destroy())
      a.on('close', () => {
        sockets.delete(a)
        b.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    blackhole(direction = 'both') {
      blockReplies = true
      if (direction === 'both') blockCommands = true
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
