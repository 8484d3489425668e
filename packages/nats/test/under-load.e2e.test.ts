// Under load, in-process: a JetStream consumer keeping up with a publisher that never pauses — pull requests are
// open at every moment — stopped by consume()'s drain strands nothing; nats.js's messages.stop() in the same spot
// strands some until ack_wait (the measurement behind the fence, see src/internals.ts). Named *.e2e.test.ts:
// its publisher loads the machine, so it runs alone, after the parallel group.
import { consume } from '@lameduck/nats'
import { expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { natsConnect, pause, testStream } from './helpers.js'

await describeWith('NATS', '@lameduck/nats consume: JetStream under load', () => {
  it('under load, stops without stranding a message; messages.stop() strands some until ack_wait', async () => {
    const nc = await natsConnect()
    const publisher = await natsConnect()
    // A consumer keeping up with a publisher that never pauses: pull requests are open at every moment.
    const round = async (withLameduck: boolean) => {
      const stream = await testStream(nc)
      const consumer = await stream.consumer()
      let go = true
      const publishing = (async () => {
        while (go) {
          publisher.publish(stream.subject, 'x')
          await new Promise((resolve) => setImmediate(resolve))
        }
      })()
      if (withLameduck) {
        const shutdown = testShutdown()
        consume(shutdown, consumer, () => {}, { consumeOptions: { max_messages: 50 } })
        await pause(150 + Math.random() * 100)
        expect((await shutdown.shutdown()).exitCode).toBe(0)
      } else {
        const messages = await consumer.consume({ max_messages: 50 })
        const reading = (async () => {
          for await (const msg of messages) msg.ack()
        })()
        await pause(150 + Math.random() * 100)
        messages.stop()
        await reading
        await nc.flush()
      }
      go = false
      await publishing
      await pause(100)
      return (await stream.info()).ackPending
    }
    let stranded = 0
    for (let i = 0; i < 5; i++) stranded += await round(true)
    expect(stranded).toBe(0)
    let strandedByStop = 0
    for (let i = 0; i < 5 && strandedByStop === 0; i++) strandedByStop += await round(false)
    expect(strandedByStop).toBeGreaterThan(0)
  }, 60_000)
})
