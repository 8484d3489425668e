// Real RabbitMQ for the adapter's tests (AMQP_URL, guest/guest on 127.0.0.1:5672 by default): connections
// closed and queues deleted after each test, every queue name unique to the run — the broker is shared.
import { randomUUID } from 'node:crypto'
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib'
import { afterEach } from 'vitest'
import { type FaultProxy, startProxy } from '../../../test/faults/proxy.js'
import { AMQP_URL } from '../../../test/support/services.js'

export { AMQP_URL }

const RUN = randomUUID().slice(0, 8)
let queues = 0
const made = new Set<string>()
const connections = new Set<ChannelModel>()
const proxies = new Set<FaultProxy>()

afterEach(async () => {
  for (const proxy of proxies) await proxy.close()
  proxies.clear()
  await deleteQueues()
  for (const connection of connections) await connection.close().catch(() => {})
  connections.clear()
})

/** A connection to the broker (or through `port`, a proxy's), closed after the test. */
export async function connect(port?: number): Promise<ChannelModel> {
  const url = new URL(AMQP_URL)
  if (port !== undefined) {
    url.hostname = '127.0.0.1'
    url.port = String(port)
  }
  const connection = await amqp.connect(url.toString())
  // A test's own connection: a broker lost on purpose must not crash the worker.
  connection.on('error', () => {})
  connections.add(connection)
  return connection
}

/** A TCP proxy to the broker, which a test can kill (the broker "dies" for that connection only). */
export async function brokerProxy(): Promise<FaultProxy> {
  const url = new URL(AMQP_URL)
  const proxy = await startProxy({ host: url.hostname, port: Number(url.port || 5672) })
  proxies.add(proxy)
  return proxy
}

/** A queue name unique to this run; the queue is deleted after the test. */
export function queueName(label = 'q'): string {
  const name = `lameduck-amqp-test-${RUN}-${label}-${++queues}`
  made.add(name)
  return name
}

/** Deletes every queue the tests made (on a connection of its own, whatever became of theirs). */
export async function deleteQueues(): Promise<void> {
  if (made.size === 0) return
  const connection = await amqp.connect(AMQP_URL)
  try {
    const channel = await connection.createChannel()
    for (const name of made) await channel.deleteQueue(name)
    made.clear()
  } finally {
    await connection.close().catch(() => {})
  }
}

/** A durable-free queue made for the test, with `count` messages "0" … "count-1" in it. */
export async function queueWith(count: number, label?: string): Promise<string> {
  const name = queueName(label)
  const connection = await amqp.connect(AMQP_URL)
  try {
    const channel = await connection.createConfirmChannel()
    await channel.assertQueue(name, { durable: false })
    for (let i = 0; i < count; i++) channel.sendToQueue(name, Buffer.from(String(i)))
    await channel.waitForConfirms()
  } finally {
    await connection.close()
  }
  return name
}

/** How many messages are ready in `queue` (not delivered to a consumer). */
export async function ready(queue: string): Promise<number> {
  const connection = await amqp.connect(AMQP_URL)
  try {
    const channel = await connection.createChannel()
    return (await channel.checkQueue(queue)).messageCount
  } finally {
    await connection.close()
  }
}

/**
 * What is in `queue` now, taken by a consumer of its own and acked: the bodies, and whether each came
 * `redelivered`. (A consumer, not `get`: one `get` per message waits out the peers' delayed ACKs, 40 ms each.)
 */
export async function takeAll(queue: string): Promise<{ body: string; redelivered: boolean }[]> {
  const connection = await amqp.connect(AMQP_URL)
  const out: { body: string; redelivered: boolean }[] = []
  try {
    const channel = await connection.createChannel()
    const { messageCount } = await channel.checkQueue(queue)
    if (messageCount === 0) return out
    await channel.prefetch(1000)
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      done = resolve
    })
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message === null) return
      out.push({ body: message.content.toString(), redelivered: message.fields.redelivered })
      channel.ack(message)
      if (out.length === messageCount) done()
    })
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 10_000))])
    await channel.cancel(consumerTag)
  } finally {
    await connection.close()
  }
  return out
}

/** Resolves once `check()` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 10_000, what = 'the condition'): Promise<void> {
  const start = performance.now()
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts: a handler that watches its signal. */
export function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export type { Channel, ChannelModel, ConsumeMessage }
