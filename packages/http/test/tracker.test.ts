// The connection tracker on its own: what the drain reads of each HTTP/1 socket, both from Node's
// `socket._httpMessage` (the normal path: nothing done per request) and by counting per response (the
// fallback, taken on a Node without `_httpMessage`).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { delay } from '../../../test/support/shutdown.js'
import type { Internals } from '../src/internals.js'
import { ConnectionTracker } from '../src/tracker.js'
import { get, listen, makeAgent, parseResponses, pipelined, rawConnect } from './helpers.js'

/** The fallback of every private field: counting per response, from the start. */
const NONE: Internals = { httpMessage: false, tlsParent: false, responseFlags: false }

const servers: ReturnType<typeof createServer>[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

for (const countResponses of [false, true]) {
  describe(countResponses ? 'counting per response' : "from Node's _httpMessage", () => {
    it('sees a request in flight, counts it, marks it Connection: close at the trigger, then idle', async () => {
      let release: () => void = () => {}
      let onSocket: (socket: Socket) => void = () => {}
      const seen = new Promise<Socket>((resolve) => {
        onSocket = resolve
      })
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        onSocket(req.socket)
        release = () => res.end('done')
      })
      servers.push(server)
      const tracker = new ConnectionTracker(server, countResponses ? { internals: NONE } : {})
      const port = await listen(server)
      const agent = makeAgent('http')
      const reply = get('http', port, '/', { agent })
      const socket = await seen
      const tracked = [...tracker.sockets][0] as Socket
      expect(tracker.sockets.size).toBe(1)
      expect(tracker.isActive(tracked)).toBe(true)
      expect(tracker.inFlightCount()).toBe(1)
      expect(tracker.inFlight()).toHaveLength(1)
      expect(tracker.idleForMs(tracked, performance.now())).toBe(0)

      tracker.startLameDuck()
      release()
      const { headers } = await reply
      // The response was in flight at the trigger, its headers not sent: it asks the client to go.
      expect(headers.connection).toBe('close')
      await delay(30)
      expect(tracker.inFlightCount()).toBe(0)
      if (!socket.destroyed) {
        expect(tracker.isActive(socket)).toBe(false)
        expect(tracker.idleForMs(socket, performance.now() + 1000)).toBeGreaterThanOrEqual(1000)
      }
      tracker.stop()
      agent.destroy()
    })

    it('pipelined requests in flight at the trigger: every one answered, only the last may ask to close', async () => {
      const held: ServerResponse[] = []
      const server = createServer((_req, res) => held.push(res))
      servers.push(server)
      const tracker = new ConnectionTracker(server, countResponses ? { internals: NONE } : {})
      const port = await listen(server)
      const socket = await rawConnect('http', port)
      let data = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        data += chunk
      })
      const closed = new Promise((resolve) => socket.once('close', resolve))
      socket.write(pipelined(['/a', '/b', '/c']))
      while (held.length < 3) await delay(5)
      tracker.startLameDuck()
      for (const [i, res] of held.entries()) res.end(String(i))
      while (parseResponses(data, true).length < 3 && !socket.destroyed) await delay(5)
      const responses = parseResponses(data, true)
      expect(responses.map((r) => r.body)).toEqual(['0', '1', '2'])
      expect(responses.slice(0, -1).every((r) => r.connection !== 'close')).toBe(true)
      if (countResponses) {
        // Counting sees the queued responses: the last one asks to close, and the socket closes after it.
        expect(responses[2]?.connection).toBe('close')
        await closed
      } else {
        // Queued out of sight: the socket stays open, and its next request is asked to close.
        expect(socket.destroyed).toBe(false)
        socket.destroy()
      }
      tracker.stop()
    })

    it('counts idle time from the trigger at the earliest, and from the last request after it', async () => {
      const server = createServer((_req, res) => res.end('ok'))
      servers.push(server)
      const tracker = new ConnectionTracker(server, countResponses ? { internals: NONE } : {})
      const port = await listen(server)
      const agent = makeAgent('http')
      await get('http', port, '/', { agent })
      await delay(100) // idle for 100 ms before the trigger: not counted
      tracker.startLameDuck()
      const socket = [...tracker.sockets][0] as Socket
      const now = performance.now()
      expect(tracker.idleForMs(socket, now)).toBeLessThan(20)
      await delay(60)
      expect(tracker.idleForMs(socket, performance.now())).toBeGreaterThanOrEqual(50)
      tracker.stop()
      agent.destroy()
    })
  })
}
