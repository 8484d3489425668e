import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { KubeProxy } from '../src/proxy.js'

/** A backend that answers every chunk with its name and counts the connections it accepted. */
async function backend(name: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    socket.on('data', () => socket.write(`${name}\n`))
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as { port: number }).port, accepted: () => accepted }
}

/** A client connection to the proxy; `ask()` sends a line and resolves to the name of the backend that answered. */
async function client(port: number): Promise<{ socket: Socket; ask: () => Promise<string> }> {
  const socket = connect({ port, host: '127.0.0.1' })
  await once(socket, 'connect')
  socket.setEncoding('utf8')
  let buffered = ''
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = []
  socket.on('data', (chunk: string) => {
    buffered += chunk
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      const line = buffered.slice(0, at)
      buffered = buffered.slice(at + 1)
      waiting.shift()?.resolve(line)
    }
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error('the proxy closed the connection'))
  })
  const ask = () =>
    new Promise<string>((resolve, reject) => {
      if (socket.destroyed) return reject(new Error('the proxy closed the connection'))
      const timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000)
      waiting.push({
        resolve: (line) => {
          clearTimeout(timer)
          resolve(line)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      socket.write('who?\n')
    })
  return { socket, ask }
}

describe('KubeProxy routes like kube-proxy', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('a connection opened before A is removed stays on A; new connections after the removal go only to B', async () => {
    const a = await backend('A')
    const b = await backend('B')
    cleanups.push(
      () => new Promise((resolve) => a.server.close(resolve)),
      () => new Promise((resolve) => b.server.close(resolve)),
    )
    const proxy = new KubeProxy()
    const port = await proxy.listen(0)
    cleanups.push(() => proxy.close())
    proxy.add('A', a.port)
    proxy.add('B', b.port)

    // Before the removal, new connections go round robin: both replicas get some.
    const before = await Promise.all(Array.from({ length: 4 }, () => client(port)))
    cleanups.push(() => {
      for (const c of before) c.socket.destroy()
    })
    const answers: string[] = []
    for (const c of before) answers.push(await c.ask())
    expect(new Set(answers)).toEqual(new Set(['A', 'B']))
    const pinned = before.filter((_, i) => answers[i] === 'A')
    expect(a.accepted()).toBe(pinned.length)

    proxy.remove('A')

    // (a) Connections to A opened before the removal still reach A, and keep reaching it.
    for (let round = 0; round < 3; round++) for (const c of pinned) expect(await c.ask()).toBe('A')
    expect(pinned.every((c) => !c.socket.destroyed)).toBe(true)

    // (b) Every new connection goes to B; A accepts none.
    const after = await Promise.all(Array.from({ length: 8 }, () => client(port)))
    cleanups.push(() => {
      for (const c of after) c.socket.destroy()
    })
    for (const c of after) expect(await c.ask()).toBe('B')
    expect(a.accepted()).toBe(pinned.length)
    expect(b.accepted()).toBe(before.length - pinned.length + after.length)

    // And the pinned connections are still served by A after all that.
    for (const c of pinned) expect(await c.ask()).toBe('A')
  })
})
