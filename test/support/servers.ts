// Loopback servers for tests: listening on a free port, and closed (connections included) after each test;
// keep-alive clients through a shutdown.
import { Agent, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach } from 'vitest'

/** An array for the servers a test file makes: each one is closed, with its connections, after every test. */
export function closedAfterEach(): Server[] {
  const servers: Server[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections()
      server.close()
    }
  })
  return servers
}

/** Starts `server` on a free loopback port and resolves that port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
}

/** What {@link keepAliveClients} saw. */
export interface KeepAliveRun<R> {
  /** The 200s the clients got. */
  ok: number
  /** Every other status (`status 503`) and every request error, as they came. */
  errors: string[]
  /** The status of the slow request that was in flight when the shutdown started. */
  slow: number
  /** What the shutdown resolved. */
  report: R
}

/**
 * Keep-alive clients through a shutdown of the service at `url`: 8 clients on one keep-alive agent GET `/` in a
 * loop; 100 ms in, one GETs `/slow?ms=500`; 50 ms later `shutdown.shutdown()` starts; 150 ms after that the
 * clients stop, as a load balancer's do once readiness says so. Resolves once the shutdown is over.
 */
export async function keepAliveClients<R>(url: string, shutdown: { shutdown(): Promise<R> }): Promise<KeepAliveRun<R>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  let ok = 0
  const errors: string[] = []
  let stop = false
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${url}${path}`, { agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end()
    })
  const client = async () => {
    while (!stop) {
      try {
        const status = await get('/')
        if (status === 200) ok++
        else errors.push(`status ${status}`)
      } catch (error) {
        errors.push((error as Error).message)
      }
    }
  }
  try {
    const clients = Array.from({ length: 8 }, client)
    await delay(100)
    const slow = get('/slow?ms=500')
    await delay(50)
    const run = shutdown.shutdown()
    await delay(150)
    stop = true
    await Promise.all(clients)
    return { slow: await slow, report: await run, ok, errors }
  } finally {
    stop = true
    agent.destroy()
  }
}
