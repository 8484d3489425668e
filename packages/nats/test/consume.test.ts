// consume() against the real NATS server (JetStream enabled), in-process: what the drain does with buffered and
// in-flight messages, at the deadline, under load, and what nats.js's own ways of stopping do in the same spot.

import { consume, drainNats, type NatsConsumeStats } from '@lameduck/nats'
import type { JsMsg } from '@nats-io/jetstream'
import type { Msg } from '@nats-io/transport-node'
import { expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { eventually, natsConnect, natsV2Connect, pause, testStream, unique, work } from './helpers.js'

/**
 * What is left on the stream's consumer, read by another consumer of it as another replica would: `count`
 * messages, redelivered ones included, each acked; fails when they do not all come within 5 s (ack_wait is 60 s:
 * a message left unacknowledged would not).
 */
async function drainRest(stream: Awaited<ReturnType<typeof testStream>>, count: number): Promise<string[]> {
  const nc = await natsConnect()
  const messages = await (await stream.consumer(nc)).consume({ max_messages: Math.max(count, 1) })
  const got: string[] = []
  const timer = setTimeout(() => messages.stop(), 5_000)
  if (count > 0)
    for await (const msg of messages) {
      got.push(msg.string())
      msg.ack()
      if (got.length === count) break
    }
  clearTimeout(timer)
  await nc.drain()
  expect(got.length, 'the messages given back were delivered again at once').toBe(count)
  return got
}

await describeWith('NATS', '@lameduck/nats consume: core subscriptions', () => {
  it('handles every message buffered at the drain before the task ends; nc.drain() alone leaves most unhandled', async () => {
    const nc = await natsConnect()
    const publisher = await natsConnect()
    const run = async (withLameduck: boolean) => {
      const subject = `lameduck.core.${unique()}`
      const sub = nc.subscribe(subject)
      await nc.flush()
      const handled: string[] = []
      const shutdown = testShutdown()
      const handler = async (msg: Msg, { signal }: { signal: AbortSignal }) => {
        await work(5, signal)
        handled.push(msg.string())
      }
      if (withLameduck) consume(shutdown, sub, handler)
      else
        void (async () => {
          for await (const msg of sub) await handler(msg, { signal: new AbortController().signal })
        })()
      for (let i = 0; i < 200; i++) publisher.publish(subject, String(i))
      await publisher.flush()
      await eventually(() => handled.length >= 5)
      if (withLameduck) {
        const report = await shutdown.shutdown()
        expect(report.exitCode).toBe(0)
      } else await sub.drain() // what nc.drain() does to each subscription, without closing this shared connection
      return handled.length
    }
    expect(await run(true)).toBe(200)
    // The control: drain() resolves once the server has confirmed the UNSUB, with the buffer still full.
    expect(await run(false)).toBeLessThan(150)
  })

  it('runs `concurrency` handlers at a time, and counts what the drain handled', async () => {
    const nc = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const sub = nc.subscribe(subject)
    await nc.flush()
    let running = 0
    let peak = 0
    const shutdown = testShutdown()
    const consumer = consume(
      shutdown,
      sub,
      async (_msg, { signal }) => {
        running++
        peak = Math.max(peak, running)
        await work(10, signal)
        running--
      },
      { concurrency: 4 },
    )
    for (let i = 0; i < 40; i++) nc.publish(subject, String(i))
    await eventually(() => consumer.inFlight() === 4)
    await shutdown.shutdown()
    expect(peak).toBe(4)
    expect(consumer.stats).toMatchObject({ kind: 'core', fenced: true, confirmed: true, dropped: 0, abandoned: 0 })
    expect(consumer.stats?.handled).toBeGreaterThan(20)
    expect(consumer.inFlight()).toBe(0)
    await consumer.done
  })

  it('at the deadline: the handlers are aborted, the rest counted lost (core NATS does not redeliver)', async () => {
    const nc = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const sub = nc.subscribe(subject)
    await nc.flush()
    const shutdown = testShutdown()
    let aborted = 0
    let handled = 0
    const consumer = consume(
      shutdown,
      sub,
      async (_msg, { signal }) => {
        try {
          await work(50, signal)
          handled++
        } catch (error) {
          aborted++
          throw error
        }
      },
      { timeoutMs: 600, abortGraceMs: 200 },
    )
    for (let i = 0; i < 100; i++) nc.publish(subject, String(i))
    await eventually(() => consumer.inFlight() === 1)
    const report = await shutdown.shutdown()
    const task = taskReport(report, 'nats-consumer')
    expect(task.outcome).toBe('error')
    expect(task.code).toBe('LAMEDUCK_ERR_NATS_MESSAGES_LOST')
    const stats = consumer.stats as NatsConsumeStats
    expect(aborted).toBe(1)
    expect(stats.dropped).toBeGreaterThan(50)
    // Every message is accounted for: handled (before or during the drain), aborted, or dropped.
    expect(handled + aborted + stats.dropped).toBe(100)
    expect(task.error).toMatch(/core NATS message\(s\) delivered to this process were never handled/)
  })

  it('a handler that throws is reported through onError, and the others go on', async () => {
    const nc = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const sub = nc.subscribe(subject)
    await nc.flush()
    const errors: [unknown, string][] = []
    const shutdown = testShutdown()
    let handled = 0
    const consumer = consume(
      shutdown,
      sub,
      (msg) => {
        if (msg.string() === '3') throw new Error('bad message')
        handled++
      },
      { onError: (error, msg) => errors.push([error, msg.string()]) },
    )
    for (let i = 0; i < 10; i++) nc.publish(subject, String(i))
    await eventually(() => handled === 9)
    await shutdown.shutdown()
    expect(errors).toEqual([[new Error('bad message'), '3']])
    expect(consumer.stats?.failed).toBe(0) // before the drain
  })

  it("without the nats.js internals the fence reads: says so, and stops with nats.js's own drain()", async () => {
    const nc = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const sub = nc.subscribe(subject)
    await nc.flush()
    const shutdown = testShutdown()
    const warnings: string[] = []
    shutdown.on('warning', ({ code }) => warnings.push(code))
    const handled: string[] = []
    const consumer = consume(shutdown, hiding(sub, 'protocol'), async (msg) => {
      await pause(2)
      handled.push(msg.string())
    })
    for (let i = 0; i < 50; i++) nc.publish(subject, String(i))
    await nc.flush()
    await eventually(() => handled.length >= 5)
    expect((await shutdown.shutdown()).exitCode).toBe(0)
    expect(warnings).toEqual(['LAMEDUCK_WARN_NATS_INTERNALS'])
    expect(consumer.stats).toMatchObject({ fenced: false })
    // sub.drain() leaves what had arrived in the iterator, which the loop still works through.
    expect(handled).toHaveLength(50)
  })

  it('a queue group: new messages go to the other members once this one has stopped', async () => {
    const nc = await natsConnect()
    const other = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const mine = nc.subscribe(subject, { queue: 'workers' })
    const theirs: string[] = []
    const otherSub = other.subscribe(subject, {
      queue: 'workers',
      callback: (_error, msg) => {
        theirs.push(msg.string())
      },
    })
    await Promise.all([nc.flush(), other.flush()])
    const shutdown = testShutdown()
    const handledHere: string[] = []
    consume(shutdown, mine, (msg) => {
      handledHere.push(msg.string())
    })
    await shutdown.shutdown()
    for (let i = 0; i < 20; i++) nc.publish(subject, String(i))
    await nc.flush()
    expect(await eventually(() => theirs.length === 20)).toBe(true)
    expect(handledHere).toEqual([])
    otherSub.unsubscribe()
  })
})

await describeWith('NATS', '@lameduck/nats consume: JetStream', () => {
  it('handles the buffered messages and acks them; at the deadline, naks the rest for immediate redelivery', async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(300)
    const shutdown = testShutdown()
    const done = new Set<string>()
    const consumer = consume(
      shutdown,
      await stream.consumer(),
      async (msg, { signal }) => {
        await work(20, signal)
        done.add(msg.string())
      },
      { concurrency: 4, consumeOptions: { max_messages: 200 }, timeoutMs: 1_000, abortGraceMs: 300 },
    )
    await eventually(() => done.size >= 20)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    const stats = consumer.stats as NatsConsumeStats
    expect(stats).toMatchObject({ kind: 'jetstream', fenced: true, confirmed: true, abandoned: 0, failed: 0 })
    expect(stats.handled).toBeGreaterThan(50)
    expect(stats.naked).toBeGreaterThan(50)
    // Nothing left unacknowledged: the nak'ed ones are delivered again at once, not after ack_wait (60 s).
    const again = await drainRest(stream, 300 - done.size)
    expect(again.filter((id) => done.has(id))).toEqual([])
    expect(new Set([...done, ...again]).size).toBe(300)
    expect((await stream.info()).ackPending).toBe(0)
  })

  it("buffered: 'nak' gives the messages not started back at once; the running ones finish", async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(100)
    const shutdown = testShutdown()
    const done: string[] = []
    const consumer = consume(
      shutdown,
      await stream.consumer(),
      async (msg, { signal }) => {
        await work(30, signal)
        done.push(msg.string())
      },
      { concurrency: 2, buffered: 'nak' },
    )
    await eventually(() => consumer.inFlight() === 2 && done.length >= 2)
    await shutdown.shutdown()
    const stats = consumer.stats as NatsConsumeStats
    expect(stats.inFlightAtStart).toBe(2)
    expect(stats.handled).toBe(2)
    expect(stats.naked).toBeGreaterThan(50)
    expect(stats.durationMs).toBeLessThan(1_000)
    const again = await drainRest(stream, 100 - done.length)
    expect(new Set([...done, ...again]).size).toBe(100)
  })

  it('a handler that throws naks its message (with retryDelayMs); ack: manual leaves the ack to the handler', async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(4)
    const shutdown = testShutdown()
    const deliveries: string[] = []
    const errors: unknown[] = []
    consume(
      shutdown,
      await stream.consumer(),
      (msg) => {
        deliveries.push(`${msg.string()}:${msg.info.deliveryCount}`)
        if (msg.string() === '1' && msg.info.deliveryCount === 1) throw new Error('try again')
        if (msg.string() === '2') msg.term()
        else msg.ack()
      },
      { ack: 'manual', retryDelayMs: 200, onError: (error) => errors.push(error) },
    )
    expect(await eventually(() => deliveries.includes('1:2'))).toBe(true)
    await shutdown.shutdown()
    expect(errors).toEqual([new Error('try again')])
    expect(deliveries.sort()).toEqual(['0:1', '1:1', '1:2', '2:1', '3:1'])
    expect((await stream.info()).ackPending).toBe(0)
  })

  it("a handler ignoring its signal is given up at the end: nak'ed, reported as abandoned", async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(1)
    const shutdown = testShutdown()
    const consumer = consume(shutdown, await stream.consumer(), () => pause(2_000), {
      timeoutMs: 500,
      abortGraceMs: 200,
    })
    await eventually(() => consumer.inFlight() === 1)
    const report = await shutdown.shutdown()
    const task = taskReport(report, 'nats-consumer')
    expect(task.code).toBe('LAMEDUCK_ERR_NATS_HANDLERS_ABANDONED')
    expect(consumer.stats).toMatchObject({ abandoned: 1, naked: 1 })
    expect(task.durationMs).toBeLessThan(600)
    expect(await drainRest(stream, 1)).toEqual(['0'])
  })

  it('takes the messages of a consume() the application started, and consumers of nats.js v2 (nats)', async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(50)
    const shutdown = testShutdown()
    const done: string[] = []
    const messages = await (await stream.consumer()).consume({ max_messages: 20 })
    consume(shutdown, messages, async (msg: JsMsg) => {
      await pause(2)
      done.push(msg.string())
    })
    await eventually(() => done.length >= 5)
    await shutdown.shutdown()
    expect((await stream.info()).ackPending).toBe(0)

    const v2 = await natsV2Connect()
    const shutdownV2 = testShutdown()
    const doneV2: string[] = []
    const consumerV2 = await v2.jetstream().consumers.get(stream.name, stream.durable)
    const subject = `lameduck.core.${unique()}`
    const subV2 = v2.subscribe(subject)
    await v2.flush()
    const coreV2: string[] = []
    const jsV2 = consume(shutdownV2, consumerV2, async (msg) => {
      await pause(2)
      doneV2.push(msg.string())
    })
    const core = consume(shutdownV2, subV2, async (msg) => {
      await pause(2)
      coreV2.push(msg.string())
    })
    for (let i = 0; i < 50; i++) v2.publish(subject, String(i))
    await eventually(() => doneV2.length >= 5 && coreV2.length >= 5)
    expect((await shutdownV2.shutdown()).exitCode).toBe(0)
    expect(jsV2.stats).toMatchObject({ fenced: true, confirmed: true })
    expect(core.stats).toMatchObject({ fenced: true, confirmed: true })
    expect(coreV2.length).toBe(50)
    expect((await stream.info()).ackPending).toBe(0)
    expect(new Set([...done, ...doneV2]).size).toBe(done.length + doneV2.length)
  })

  it("without the nats.js internals the fence reads: says so, and stops with nats.js's own stop()", async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(20)
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger })
    const warnings: string[] = []
    shutdown.on('warning', ({ code }) => warnings.push(code))
    const messages = await (await stream.consumer()).consume({ max_messages: 20 })
    const done: string[] = []
    const consumer = consume(shutdown, hiding(messages, 'sub'), (msg) => {
      done.push(msg.string())
    })
    await eventually(() => done.length === 20)
    await shutdown.shutdown()
    expect(warnings).toEqual(['LAMEDUCK_WARN_NATS_INTERNALS'])
    expect(consumer.stats).toMatchObject({ fenced: false, handled: 0 })
    expect((await stream.info()).ackPending).toBe(0)
  })
})

await describeWith('NATS', '@lameduck/nats drainNats', () => {
  it('drains the connection after the consumers, in its own phase; a closed connection is left alone', async () => {
    const nc = await natsConnect()
    const subject = `lameduck.core.${unique()}`
    const sub = nc.subscribe(subject)
    await nc.flush()
    const shutdown = testShutdown()
    const order: string[] = []
    consume(shutdown, sub, async () => {
      await pause(20)
      order.push('handled')
    })
    drainNats(shutdown, nc)
    for (let i = 0; i < 10; i++) nc.publish(subject, String(i))
    await nc.flush()
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(order).toHaveLength(10)
    expect(nc.isClosed()).toBe(true)
    expect(taskReport(report, 'nats-connection').phase).toBe('close')

    const closed = await natsConnect()
    await closed.close()
    const again = testShutdown()
    drainNats(again, closed)
    expect((await again.shutdown()).exitCode).toBe(0)
  })

  it('in the same phase as the consumers, waits for them before draining', async () => {
    const nc = await natsConnect()
    const stream = await testStream(nc)
    await stream.publish(30)
    const shutdown = testShutdown()
    const done: string[] = []
    consume(shutdown, await stream.consumer(), async (msg, { signal }) => {
      await work(10, signal)
      done.push(msg.string())
    })
    drainNats(shutdown, nc, { phase: 'drain' })
    await eventually(() => done.length >= 3)
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(nc.isClosed()).toBe(true)
    expect((await stream.info()).ackPending).toBe(0)
  })
})
