import { connect, createServer, type Server, type Socket } from 'node:net'
import { SimulatorError } from './errors.js'

interface Endpoint {
  name: string
  port: number
  ready: boolean
}

/**
 * A TCP proxy that routes like kube-proxy: each new connection goes to a ready endpoint chosen when it
 * opens (round robin), and stays pinned to it for its whole life; removing an endpoint only affects
 * connections opened afterwards.
 */
export class KubeProxy {
  readonly #endpoints: Endpoint[] = []
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** Upstream connect errors by the client's port, so the client can report them as what they were. */
  readonly upstreamErrors = new Map<number, string>()
  #next = 0
  port = 0

  constructor() {
    this.#server = createServer({ noDelay: true }, (client) => this.#route(client))
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new SimulatorError('LAMEDUCK_ERR_SIM_PORT_IN_USE', `proxy port ${port} is already in use`)
            : error,
        )
      })
      this.#server.listen(port, '127.0.0.1', () => {
        this.port = (this.#server.address() as { port: number }).port
        resolve(this.port)
      })
    })
  }

  add(name: string, port: number): void {
    this.#endpoints.push({ name, port, ready: true })
  }

  /** Takes the endpoint out of the choice for new connections, as endpoint removal does. */
  remove(name: string): void {
    for (const endpoint of this.#endpoints) if (endpoint.name === name) endpoint.ready = false
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  #route(client: Socket): void {
    this.#sockets.add(client)
    client.once('close', () => this.#sockets.delete(client))
    const ready = this.#endpoints.filter((endpoint) => endpoint.ready)
    const endpoint = ready[this.#next++ % Math.max(ready.length, 1)]
    if (!endpoint) {
      client.resetAndDestroy()
      return
    }
    const clientPort = client.remotePort ?? 0
    const upstream = connect({ port: endpoint.port, host: '127.0.0.1', noDelay: true })
    this.#sockets.add(upstream)
    upstream.once('close', () => this.#sockets.delete(upstream))
    let connected = false
    upstream.once('connect', () => {
      connected = true
    })
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) this.upstreamErrors.set(clientPort, error.code ?? 'ECONNREFUSED')
      // A reset or refusal upstream becomes a reset for the client, as it would through NAT.
      if (!client.destroyed) client.resetAndDestroy()
    })
    client.on('error', () => upstream.destroy())
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
