import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { closedByDrain } from '@lameduck/http'
import { afterEach, describe, expect, it } from 'vitest'

const servers: Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

describe('closedByDrain', () => {
  it("runs a framework's close without waiting for or cutting an open connection, then puts the server back", async () => {
    const server = createServer((_req, res) => res.end('ok'))
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    let closed = false
    socket.once('close', () => {
      closed = true
    })
    const ownClose = server.close
    const value = await closedByDrain(server, async () => {
      server.closeAllConnections()
      server.closeIdleConnections()
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
      return 'done'
    })
    expect(value).toBe('done')
    expect(server.listening).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(closed).toBe(false)
    expect(server.close).toBe(ownClose)
    expect(Object.hasOwn(server, 'closeAllConnections')).toBe(false)
    socket.destroy()
  })

  it('puts the members back when the close throws', async () => {
    const server = createServer()
    servers.push(server)
    await expect(
      closedByDrain(server, () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(Object.hasOwn(server, 'close')).toBe(false)
  })
})
