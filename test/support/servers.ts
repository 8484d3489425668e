// Loopback servers for tests: listening on a free port, and closed (connections included) after each test.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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
