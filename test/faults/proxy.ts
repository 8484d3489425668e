import { createConnection, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy between a fixture and a real service (Redis, PostgreSQL), so a test can take the service
 * away from one process without stopping it for everybody else:
 * - `kill()`: stop accepting and destroy every connection (the service is gone: resets, then refusals);
 * - `freeze()`: keep every connection open but forward nothing more, and accept new ones without ever
 *   connecting them (the service hangs).
 */
export interface FaultProxy {
  port: number
  /** Connections opened through the proxy so far. */
  readonly accepted: number
  kill(): Promise<void>
  freeze(): void
  close(): Promise<void>
}

export async function startProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket | undefined]>()
  let frozen = false
  let accepted = 0
  const server: Server = createServer((client) => {
    accepted++
    client.on('error', () => {})
    if (frozen) {
      client.pause()
      pairs.add([client, undefined])
      return
    }
    const upstream = createConnection(target)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    const pair: [Socket, Socket | undefined] = [client, upstream]
    pairs.add(pair)
    client.pipe(upstream)
    upstream.pipe(client)
    const forget = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.once('close', forget)
    upstream.once('close', forget)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()))

  const destroyAll = () => {
    for (const [client, upstream] of pairs) {
      client.destroy()
      upstream?.destroy()
    }
    pairs.clear()
  }

  return {
    port,
    get accepted() {
      return accepted
    },
    async kill() {
      server.close()
      destroyAll()
      await closed
    },
    freeze() {
      frozen = true
      for (const [client, upstream] of pairs) {
        client.unpipe()
        upstream?.unpipe()
        client.pause()
        upstream?.pause()
      }
    },
    async close() {
      if (server.listening) server.close()
      destroyAll()
      await closed
    },
  }
}
