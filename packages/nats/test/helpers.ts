// The real NATS server (JetStream enabled) of every machine, and a private one for fault tests; streams,
// consumers and subjects named uniquely per test, and everything a test made deleted or closed after it.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, afterEach } from 'vitest'
import { NATS_URL } from '../../../test/support/services.js'

export { NATS_URL }

const connections: { close(): Promise<void>; isClosed(): boolean }[] = []
const cleanups: (() => Promise<unknown>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})
afterAll(async () => {
  for (const nc of connections.splice(0)) if (!nc.isClosed()) await nc.close().catch(() => {})
})

/** Runs after the current test (streams deleted, servers stopped), last registered first. */
export function after(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup)
}

/** A unique token for names: stream names take letters, digits, `_` and `-`. */
export const unique = (): string => `${process.pid}_${Math.random().toString(36).slice(2, 10)}`

/** A nats.js v3 connection, closed after the file. */
export async function natsConnect(servers: string = NATS_URL, options: Record<string, unknown> = {}) {
  const nc = await connect({ servers, ...options })
  connections.push(nc)
  return nc
}

/** A nats.js v2 (`nats`) connection, closed after the file. */
export async function natsV2Connect(servers: string = NATS_URL) {
  const { connect: connectV2 } = await import('nats')
  const nc = await connectV2({ servers })
  connections.push(nc)
  return nc
}

export interface TestStream {
  name: string
  subject: string
  durable: string
  jsm: JetStreamManager
  js: JetStreamClient
  /** The durable pull consumer, as another process (or this one) would get it. */
  consumer(nc?: NatsConnection): Promise<Consumer>
  /** Publishes `count` messages `0` … `count - 1` (their payload is their id), confirmed by the stream. */
  publish(count: number, from?: number): Promise<void>
  /** The consumer's state on the server. */
  info(): Promise<{ ackPending: number; pending: number; delivered: number; redelivered: number; waiting: number }>
}

/**
 * A stream of its own on `nc`'s server with one durable pull consumer (explicit acks, `ack_wait` 60 s by
 * default: a message left unacknowledged would come back only after the test), deleted after the test.
 */
const admins = new Map<string, Promise<NatsConnection>>()

export async function testStream(
  nc: NatsConnection,
  consumerConfig: Partial<ConsumerConfig> = {},
): Promise<TestStream> {
  const id = unique()
  const name = `LAMEDUCK_${id}`
  const subject = `lameduck.test.${id}`
  const durable = consumerConfig.durable_name ?? 'workers'
  // Made and deleted through a connection of its own, which outlives the test's (a drain closes those).
  const server = `nats://${nc.getServer()}`
  const admin = admins.get(server) ?? natsConnect(server)
  admins.set(server, admin)
  const jsm = await jetstreamManager(await admin)
  await jsm.streams.add({ name, subjects: [subject] })
  // Bounded: a private server a fault test killed does not answer.
  after(() => Promise.race([jsm.streams.delete(name), pause(500)]))
  await jsm.consumers.add(name, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 60_000_000_000,
    max_ack_pending: 10_000,
    ...consumerConfig,
  })
  const js = jetstream(await admin)
  return {
    name,
    subject,
    durable,
    jsm,
    js,
    consumer: (other = nc) => jetstream(other).consumers.get(name, durable),
    async publish(count, from = 0) {
      for (let start = 0; start < count; start += 500)
        await Promise.all(
          Array.from({ length: Math.min(500, count - start) }, (_, i) => js.publish(subject, String(from + start + i))),
        )
    },
    async info() {
      const info = await jsm.consumers.info(name, durable)
      return {
        ackPending: info.num_ack_pending,
        pending: info.num_pending,
        delivered: info.delivered.consumer_seq,
        redelivered: info.num_redelivered,
        waiting: info.num_waiting,
      }
    },
  }
}

/** Waits `ms` for real (test pacing only, never a budget decision of the adapter). */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `ms` of work that stops early, rejecting with the signal's reason, when `signal` aborts. */
export function work(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Polls `check` every 10 ms until it holds, for at most `ms`; returns whether it did. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const until = performance.now() + ms
  for (;;) {
    if (await check()) return true
    if (performance.now() > until) return false
    await pause(10)
  }
}

/** A TCP port free a moment ago, on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export interface PrivateServer {
  url: string
  pid: number
  /** SIGKILL, by PID: the server dies as a crashed one does, its clients' sockets reset. */
  kill(): void
}

/**
 * A nats-server of the test's own (`nats-server -js -a 127.0.0.1 -p <free port> -sd <temp dir>`), for
 * faults that must not touch the shared server; killed and its store removed after the test.
 */
export async function privateServer(): Promise<PrivateServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-nats-'))
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  const up = await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = tcpConnect({ host: '127.0.0.1', port })
        socket.once('connect', () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      }),
    10_000,
  )
  if (!up || child.pid === undefined) throw new Error(`nats-server did not start on ${port}: ${stderr}`)
  return { url: `nats://127.0.0.1:${port}`, pid: child.pid, kill: () => process.kill(child.pid as number, 'SIGKILL') }
}
