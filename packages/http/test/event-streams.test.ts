// closeEventStreams against real Server-Sent Events streams on loopback: found by their Content-Type (however
// the application set it) or added, each ended with its `retry:` after every event written before it, its
// connection closed after it, the ends spread over the window; with the HTTP drain of the same server; the
// deadline; writes after the end; and real EventSource clients (the eventsource package) reconnecting
// through the simulator's kube-proxy to the other replica.
import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http'
import { createServer as createH2Server } from 'node:http2'
import type { Socket } from 'node:net'
import { closeEventStreams, drainHttpServer, HTTP_DEFAULTS } from '@lameduck/http'
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it } from 'vitest'
import { expectRefused } from '../../../test/support/adapter-contract.js'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { KubeProxy } from '../../testkit/src/proxy.js'
import { closedAfterEach, get, listen, openH2 } from './helpers.js'

const servers = closedAfterEach()
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/**
 * A server whose `/events` is an event stream (headers given to writeHead, or set with setHeader first with
 * `?set`), sending `event-<n>` with `id: <n>` every `everyMs`, `name` as its first event; anything else answers
 * at once. `responses` holds the streams it opened.
 */
function sseServer(name = 'a', everyMs = 50) {
  const responses: ServerResponse[] = []
  const s = createServer((req, res) => {
    if (!req.url?.startsWith('/events')) return res.end('ok')
    if (req.url.includes('set')) {
      res.setHeader('content-type', 'text/event-stream; charset=utf-8')
      res.writeHead(200)
    } else res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
    responses.push(res)
    res.write(`data: ${name}\n\n`)
    let n = 0
    const timer = setInterval(() => {
      n++
      // An application that stops on `close`, as it should: this one writes until then.
      res.write(`id: ${n}\ndata: event-${n}\n\n`)
    }, everyMs)
    res.once('close', () => clearInterval(timer))
  })
  servers.push(s)
  return { server: s, responses }
}

/** What a raw client read of one stream: its body, when it ended, and its socket. */
interface Read {
  body: string
  endedAt: number
  socket: Socket
  res: IncomingMessage
}

/** Opens `/events` and resolves once its first event is in; `done` when the response has ended. */
async function open(port: number, path = '/events', agent: Agent | false = false) {
  let socket: Socket | undefined
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, resolve)
    req.once('socket', (s: Socket) => {
      socket = s
    })
    req.once('error', reject)
    req.end()
  })
  let body = ''
  res.setEncoding('utf8')
  const first = new Promise<void>((resolve) =>
    res.on('data', (chunk: string) => {
      body += chunk
      resolve()
    }),
  )
  const done = new Promise<Read>((resolve, reject) => {
    res.once('end', () => resolve({ body, endedAt: performance.now(), socket: socket as Socket, res }))
    res.once('error', reject)
  })
  done.catch(() => {})
  await first
  return { res, done, socket: socket as Socket, body: () => body }
}

describe('closeEventStreams: every stream ends with a reconnect hint instead of being cut', () => {
  it('finds the streams however the Content-Type was set, ends each with retry: after its events, and closes its connection', async () => {
    const shutdown = testShutdown()
    const { server } = sseServer()
    const closing = closeEventStreams(shutdown, server, { spreadMs: 200 })
    const port = await listen(server)
    const agent = new Agent({ keepAlive: true })
    cleanups.push(() => agent.destroy())
    const streams = [await open(port, '/events', agent), await open(port, '/events?set', agent), await open(port)]
    await delay(120)
    expect(closing.streams()).toBe(3)
    const report = await shutdown.shutdown()
    const reads = await Promise.all(streams.map((s) => s.done))
    for (const read of reads) {
      // Events, then the hint, then the end: nothing written before the end is missing.
      expect(read.body).toMatch(/^data: a\n\n(id: \d+\ndata: event-\d+\n\n)+retry: 1000\n\n$/)
      const ids = [...read.body.matchAll(/id: (\d+)/g)].map((m) => Number(m[1]))
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1))
    }
    // The connections are closed after the streams, even the kept-alive ones: a reconnect opens a new one.
    await delay(50)
    for (const read of reads) expect(read.socket.destroyed).toBe(true)
    expect(taskReport(report, 'sse-close')).toMatchObject({ outcome: 'ok', phase: 'drain' })
    expect(closing.stats).toMatchObject({
      streamsAtStart: 3,
      acceptedDuringDrain: 0,
      ended: 3,
      closed: 3,
      terminated: 0,
      unsentBytes: 0,
      windowMs: 200,
    })
    expect(closing.streams()).toBe(0)
  })

  it('sends the retryMs it is given (0: at once)', async () => {
    const shutdown = testShutdown()
    const { server } = sseServer()
    closeEventStreams(shutdown, server, { spreadMs: 0, retryMs: 0 })
    const port = await listen(server)
    const stream = await open(port)
    await shutdown.shutdown()
    expect((await stream.done).body).toMatch(/retry: 0\n\n$/)
  })

  it('spreads the ends evenly over spreadMs instead of all at once', async () => {
    const shutdown = testShutdown()
    const { server } = sseServer('a', 200)
    const closing = closeEventStreams(shutdown, server, { spreadMs: 1000, timeoutMs: 5000 })
    const port = await listen(server)
    const streams = await Promise.all(Array.from({ length: 30 }, () => open(port)))
    const started = performance.now()
    await shutdown.shutdown()
    const times = (await Promise.all(streams.map((s) => s.done))).map((r) => r.endedAt)
    const span = Math.max(...times) - Math.min(...times)
    // Ideally 967 ms (30 ends, 33 ms apart).
    expect(span).toBeGreaterThan(700)
    expect(span).toBeLessThan(2500)
    expect(Math.min(...times) - started).toBeLessThan(500)
    expect(closing.stats).toMatchObject({ ended: 30, closed: 30, windowMs: 1000 })
  })

  it('a write after the end is not sent, does not crash the process, and is counted', async () => {
    const shutdown = testShutdown()
    const { server, responses } = sseServer('a', 10_000)
    const closing = closeEventStreams(shutdown, server, { spreadMs: 0 })
    const port = await listen(server)
    const stream = await open(port)
    const errors: (string | undefined)[] = []
    // The application's next event, written in the same tick as the end, without checking `writableEnded`
    // (Node reports it as an 'error' on the response, which nobody listens to).
    const res = responses[0]!
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
    res.end = ((...args: unknown[]) => {
      const ended = end(...args)
      res.write('data: too late\n\n', (error) => errors.push((error as NodeJS.ErrnoException | undefined)?.code))
      return ended
    }) as typeof res.end
    await shutdown.shutdown()
    await delay(20)
    expect(errors).toEqual(['ERR_STREAM_WRITE_AFTER_END'])
    expect((await stream.done).body).not.toContain('too late')
    expect(closing.stats!.lateWrites).toBe(1)
  })

  it('a stream started while the task runs (on a kept-alive connection) is ended at once', async () => {
    const shutdown = testShutdown()
    const { server } = sseServer()
    const closing = closeEventStreams(shutdown, server, { spreadMs: 1500, timeoutMs: 4000 })
    const port = await listen(server)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    cleanups.push(() => agent.destroy())
    await get('http', port, '/warm', { agent })
    const early = await Promise.all([open(port), open(port)])
    const run = shutdown.shutdown()
    await delay(200)
    const late = await open(port, '/events', agent)
    const opened = performance.now()
    const read = await late.done
    expect(read.body).toMatch(/retry: 1000\n\n$/)
    expect(read.endedAt - opened).toBeLessThan(500)
    await run
    await Promise.all(early.map((s) => s.done))
    expect(closing.stats).toMatchObject({ streamsAtStart: 2, acceptedDuringDrain: 1, ended: 3, closed: 3 })
  })
})

describe('closeEventStreams with the HTTP drain of the same server', () => {
  it('the HTTP drain leaves the streams to it: over quickly, nothing cut, while the ends are still being spread', async () => {
    const shutdown = testShutdown()
    const { server } = sseServer()
    const http = drainHttpServer(shutdown, server, { timeoutMs: 400, checkTimeouts: false })
    const closing = closeEventStreams(shutdown, server, { spreadMs: 1200, timeoutMs: 4000 })
    const port = await listen(server)
    const streams = await Promise.all(Array.from({ length: 8 }, () => open(port)))
    const report = await shutdown.shutdown()
    for (const read of await Promise.all(streams.map((s) => s.done))) expect(read.body).toMatch(/retry: 1000\n\n$/)
    expect(taskReport(report, 'http-drain').outcome).toBe('ok')
    expect(http.stats).toMatchObject({ forced: 0, requestsCut: 0 })
    expect(http.stats!.durationMs).toBeLessThan(400)
    expect(closing.stats).toMatchObject({ ended: 8, closed: 8, terminated: 0 })
  })

  it('without it, the same streams are cut at the HTTP drain deadline (what it replaces)', async () => {
    const shutdown = testShutdown()
    const { server } = sseServer()
    const http = drainHttpServer(shutdown, server, { timeoutMs: 300, checkTimeouts: false })
    const port = await listen(server)
    const stream = await open(port)
    await shutdown.shutdown()
    await expect(stream.done).rejects.toThrow('aborted')
    expect(http.stats).toMatchObject({ requestsCut: 1 })
  })
})

describe('closeEventStreams: the deadline', () => {
  it('destroys a stream whose client reads nothing, counts what was queued, and fails the task', async () => {
    const shutdown = testShutdown()
    const { server, responses } = sseServer('a', 10_000)
    const closing = closeEventStreams(shutdown, server, { spreadMs: 0, timeoutMs: 800 })
    const port = await listen(server)
    const polite = await open(port)
    const deaf = await open(port)
    deaf.res.pause()
    deaf.socket.pause()
    // 8 MB the deaf client never reads: more than the loopback buffers hold.
    for (let i = 0; i < 8; i++) responses[1]!.write(`data: ${'x'.repeat(1 << 20)}\n\n`)
    const report = await shutdown.shutdown()
    expect((await polite.done).body).toMatch(/retry: 1000\n\n$/)
    expect(taskReport(report, 'sse-close')).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_SSE_TERMINATED' })
    expect(closing.stats).toMatchObject({ streamsAtStart: 2, closed: 1, terminated: 1 })
    expect(closing.stats!.unsentBytes).toBeGreaterThan(0)
    expect(report.exitCode).not.toBe(0)
  })
})

describe('closeEventStreams: add()', () => {
  it('takes a stream of another Content-Type; the same response twice gives the same handle; remove() leaves it', async () => {
    const shutdown = testShutdown()
    const responses: ServerResponse[] = []
    const s: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      res.write('{"n":0}\n')
      responses.push(res)
    })
    servers.push(s)
    const http = drainHttpServer(shutdown, s, { timeoutMs: 1500, checkTimeouts: false })
    const closing = closeEventStreams(shutdown, s, { spreadMs: 0 })
    const port = await listen(s)
    const [taken, left] = [await open(port, '/'), await open(port, '/')]
    const handle = closing.add(responses[0]!)
    expect(closing.add(responses[0]!)).toBe(handle)
    const leftHandle = closing.add(responses[1]!)
    leftHandle.remove()
    leftHandle.remove()
    expect(closing.streams()).toBe(1)
    const run = shutdown.shutdown()
    expect((await taken.done).body).toBe('{"n":0}\nretry: 1000\n\n')
    // The one removed is an ordinary response again: the HTTP drain waits for it, and the application ends it.
    await delay(100)
    responses[1]!.end('{"n":1}\n')
    expect((await left.done).body).toBe('{"n":0}\n{"n":1}\n')
    await run
    expect(http.stats).toMatchObject({ forced: 0 })
    expect(closing.stats).toMatchObject({ streamsAtStart: 1, ended: 1 })
  })

  it('refuses what is not a response, naming add()', async () => {
    const closing = closeEventStreams(testShutdown(), createServer())
    await expectRefused(
      () => closing.add({} as never),
      'LAMEDUCK_ERR_INVALID_OPTION',
      /res argument of add\(\) of closeEventStreams: expected the response the event stream is written on/,
    )
    expect(HTTP_DEFAULTS.eventStreams.name).toBe(closing.name)
  })
})

describe('closeEventStreams over HTTP/2', () => {
  it('ends an HTTP/2 event stream with its hint; the session is the drain’s', async () => {
    const shutdown = testShutdown()
    const h2 = createH2Server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: h2\n\n')
    })
    cleanups.push(() => h2.close())
    drainHttpServer(shutdown, h2, { timeoutMs: 2000, checkTimeouts: false })
    const closing = closeEventStreams(shutdown, h2, { spreadMs: 0 })
    const port = await listen(h2 as unknown as Server)
    const session = openH2(false, port)
    cleanups.push(() => session.destroy())
    const stream = session.request({ ':path': '/events' })
    let body = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      body += chunk
    })
    const ended = new Promise((resolve) => stream.once('end', resolve))
    await new Promise((resolve) => stream.once('data', resolve))
    await shutdown.shutdown()
    await ended
    expect(body).toBe('data: h2\n\nretry: 1000\n\n')
    expect(closing.stats).toMatchObject({ streamsAtStart: 1, ended: 1, closed: 1 })
  })
})

describe('EventSource clients behind kube-proxy move to the other replica', () => {
  it('each stream of A ends with its hint, the EventSource reconnects (Last-Event-ID) and is served by B', async () => {
    const proxy = new KubeProxy()
    cleanups.push(() => proxy.close())
    const proxyPort = await proxy.listen(0)
    const a = sseServer('a')
    const b = sseServer('b')
    const lastIds: (string | undefined)[] = []
    b.server.prependListener('request', (req: IncomingMessage) => lastIds.push(req.headers['last-event-id'] as string))
    proxy.add('a', await listen(a.server))
    proxy.add('b', await listen(b.server))
    const shutdown = testShutdown({ drainDelayMs: 100 })
    drainHttpServer(shutdown, a.server, { timeoutMs: 3000, checkTimeouts: false })
    const closing = closeEventStreams(shutdown, a.server, { spreadMs: 400, retryMs: 100 })
    // Node's fetch, as the eventsource package uses it: a keep-alive pool, like a browser's.
    const clients = Array.from({ length: 6 }, () => new EventSource(`http://127.0.0.1:${proxyPort}/events`))
    cleanups.push(() => {
      for (const c of clients) c.close()
    })
    const served = clients.map(() => [] as string[])
    const errors = clients.map(() => 0)
    clients.forEach((c, i) => {
      c.onmessage = (event) => {
        if (event.data === 'a' || event.data === 'b') served[i]!.push(event.data)
      }
      c.onerror = () => {
        errors[i]!++
      }
    })
    const start = performance.now()
    while (served.some((s) => s.length === 0) && performance.now() - start < 5000) await delay(20)
    const onA = served.filter((s) => s[0] === 'a').length
    expect(onA).toBe(3)
    proxy.remove('a')
    await shutdown.shutdown()
    while (served.some((s) => s.at(-1) !== 'b') && performance.now() - start < 8000) await delay(20)
    expect(served.map((s) => s.at(-1))).toEqual(Array(6).fill('b'))
    expect(served.filter((s) => s.join() === 'a,b').length).toBe(3)
    expect(closing.stats).toMatchObject({ streamsAtStart: 3, ended: 3, closed: 3, terminated: 0 })
    // The reconnects said where they were: the id of the last event each had from A.
    expect(lastIds.filter((id) => id !== undefined)).toHaveLength(3)
  })
})
