// createConsumers against a real RabbitMQ: acks when a handler resolves, nacks when it rejects, and the drain —
// cancel, in-flight deliveries finished and acked, the signal, nack-requeue at the stop time, no second
// acknowledgement of a delivery that was requeued, and a channel lost in the middle.
import { AmqpChannelLostError, AmqpRequeuedError, AmqpShuttingDownError, createConsumers } from '@lameduck/amqp'
import { describe, expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { brokerProxy, connect, queueName, queueWith, ready, takeAll, until, work } from './helpers.js'

await describeWith('RabbitMQ', 'createConsumers', () => {
  describe('while running', () => {
    it('acks a delivery when its handler resolves, and nacks it as `failures` says when it rejects', async () => {
      const queue = await queueWith(6)
      const connection = await connect()
      const channel = await connection.createChannel()
      const logger = memoryLogger()
      const shutdown = testShutdown({ logger })
      const consumers = createConsumers(shutdown, channel, { failures: 'reject' })
      const seen: string[] = []
      await consumers.consume(
        queue,
        async (message) => {
          const body = message.content.toString()
          seen.push(body)
          if (body === '1') throw new Error('poison')
          if (body === '2') return Promise.reject(new Error('also poison'))
        },
        { prefetch: 10 },
      )
      await until(() => seen.length === 6 && consumers.inFlight() === 0, 5000, 'six deliveries')
      await channel.close()
      // Acked: gone. Rejected without requeue (no dead-letter exchange): gone too, and logged.
      expect(await ready(queue)).toBe(0)
      expect(logger.entries.filter((e) => e.fields.event === 'amqp.handler.failed')).toHaveLength(2)
      await shutdown.shutdown()
    })

    it("requeues a failed delivery by default (amqplib's own nack default), and onError replaces the log", async () => {
      const queue = await queueWith(1)
      const connection = await connect()
      const channel = await connection.createChannel()
      const shutdown = testShutdown()
      const consumers = createConsumers(shutdown, channel)
      const attempts: boolean[] = []
      const errors: unknown[] = []
      await consumers.consume(
        queue,
        (message) => {
          attempts.push(message.fields.redelivered)
          if (attempts.length === 1) throw new Error('transient')
        },
        { onError: (error) => errors.push(error) },
      )
      await until(() => attempts.length === 2 && consumers.inFlight() === 0, 5000, 'the redelivery')
      expect(attempts).toEqual([false, true])
      expect(errors).toHaveLength(1)
      await channel.close()
      expect(await ready(queue)).toBe(0)
      await shutdown.shutdown()
    })
  })

  describe('the drain', () => {
    it('cancels the consumers, lets the deliveries in flight finish and acks them: none left, none requeued', async () => {
      const queue = await queueWith(50)
      const connection = await connect()
      const channel = await connection.createChannel()
      const shutdown = testShutdown()
      const consumers = createConsumers(shutdown, channel, { timeoutMs: 5000 })
      const done: string[] = []
      await consumers.consume(
        queue,
        async (message, { signal }) => {
          await work(200 + Math.random() * 600, signal)
          done.push(message.content.toString())
        },
        { prefetch: 20 },
      )
      await until(() => consumers.inFlight() === 20, 5000, '20 in flight')
      const report = await shutdown.shutdown()
      expect(taskReport(report, 'amqp-consumers').outcome).toBe('ok')
      expect(consumers.stats).toMatchObject({
        consumers: 1,
        cancelled: 1,
        inFlightAtDrain: 20,
        acked: 20,
        requeuedAborted: 0,
        requeuedAtStop: 0,
        lost: 0,
        synced: true,
      })
      expect(done).toHaveLength(20)
      // Cancelled: no new delivery; the 30 never delivered are still there, untouched.
      await channel.close()
      const left = await takeAll(queue)
      expect(left).toHaveLength(30)
      expect(new Set([...done, ...left.map((m) => m.body)]).size).toBe(50)
    })

    it('aborts the signal abortBeforeMs before the stop, requeues what stops then and what still runs at the stop, and never acks those', async () => {
      const queue = await queueWith(10)
      const connection = await connect()
      const channel = await connection.createChannel()
      const shutdown = testShutdown()
      const consumers = createConsumers(shutdown, channel, { timeoutMs: 1500, abortBeforeMs: 500 })
      const finishedLate: string[] = []
      const abortedAt: number[] = []
      let drainAt = 0
      await consumers.consume(
        queue,
        async (message, { signal }) => {
          const body = Number(message.content.toString())
          signal.addEventListener('abort', () => abortedAt.push(performance.now() - drainAt))
          if (body < 3) return work(100, signal) // finishes: acked
          if (body < 6) return work(60_000, signal) // stops at the abort: requeued
          // Ignores its signal, and finishes after the stop: requeued at the stop, its late success ignored.
          await new Promise((resolve) => setTimeout(resolve, 2500))
          finishedLate.push(String(body))
        },
        { prefetch: 10 },
      )
      await until(() => consumers.inFlight() === 10, 5000, '10 in flight')
      drainAt = performance.now()
      const report = await shutdown.shutdown()
      const task = taskReport(report, 'amqp-consumers')
      expect(task.outcome).toBe('error')
      expect(task.code).toBe('LAMEDUCK_ERR_AMQP_REQUEUED')
      expect(consumers.stats).toMatchObject({ acked: 3, requeuedAborted: 3, requeuedAtStop: 4, lost: 0, synced: true })
      // The signal aborted about abortBeforeMs before the stop (1500 − ~50 ms − 500), not at the start.
      expect(abortedAt).toHaveLength(7)
      for (const at of abortedAt) {
        expect(at).toBeGreaterThan(700)
        expect(at).toBeLessThan(1400)
      }
      // The late handlers finish now: no second acknowledgement (which would close the channel with 406).
      await until(() => finishedLate.length === 4, 5000, 'the late handlers')
      await new Promise((resolve) => setTimeout(resolve, 100))
      await channel.checkQueue(queue) // the channel is still open: no PRECONDITION_FAILED
      const left = await takeAll(queue)
      expect(left.map((m) => m.body).sort()).toEqual(['3', '4', '5', '6', '7', '8', '9'])
      expect(left.every((m) => m.redelivered)).toBe(true)
    })

    it('requeues, untouched, what the broker delivers after the drain began, and refuses consume() from then on', async () => {
      const queue = await queueWith(20)
      const connection = await connect()
      const channel = await connection.createChannel()
      const shutdown = testShutdown()
      const consumers = createConsumers(shutdown, channel, { timeoutMs: 3000 })
      let handled = 0
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      await consumers.consume(
        queue,
        async () => {
          handled++
          await gate
        },
        { prefetch: 5 },
      )
      await until(() => consumers.inFlight() === 5, 5000, '5 in flight')
      const running = shutdown.shutdown()
      await until(() => consumers.stats !== undefined, 2000, 'the drain')
      await expect(consumers.consume(queue, () => {})).rejects.toBeInstanceOf(AmqpShuttingDownError)
      release()
      const report = await running
      expect(taskReport(report, 'amqp-consumers').outcome).toBe('ok')
      expect(handled).toBe(5)
      expect(consumers.stats?.acked).toBe(5)
      await channel.close()
      expect(await ready(queue)).toBe(15)
    })

    it('ends at once when the connection is lost mid-drain: signals aborted, AmqpChannelLostError, everything redelivered', async () => {
      const queue = await queueWith(30)
      const proxy = await brokerProxy()
      const connection = await connect(proxy.port)
      const channel = await connection.createChannel()
      const shutdown = testShutdown()
      const consumers = createConsumers(shutdown, channel, { timeoutMs: 20_000 })
      const reasons: unknown[] = []
      await consumers.consume(
        queue,
        async (_message, { signal }) => {
          await work(60_000, signal).catch((error) => {
            reasons.push(error)
            throw error
          })
        },
        { prefetch: 30 },
      )
      await until(() => consumers.inFlight() === 30, 5000, '30 in flight')
      const start = performance.now()
      const running = shutdown.shutdown()
      await until(() => consumers.stats?.cancelled === 1, 5000, 'the cancel')
      await proxy.kill()
      const report = await running
      expect(performance.now() - start).toBeLessThan(5000)
      const task = taskReport(report, 'amqp-consumers')
      expect(task.code).toBe('LAMEDUCK_ERR_AMQP_CHANNEL_LOST')
      expect(consumers.stats).toMatchObject({ lost: 30, acked: 0 })
      expect(reasons).toHaveLength(30)
      expect(reasons.every((r) => (r as DOMException).name === 'AbortError')).toBe(true)
      // The broker noticed the connection go: every delivery is back, flagged redelivered.
      const back = await (async () => {
        for (let i = 0; i < 100; i++) {
          if ((await ready(queue)) === 30) break
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        return takeAll(queue)
      })()
      expect(back).toHaveLength(30)
      expect(back.every((m) => m.redelivered)).toBe(true)
      expect(AmqpChannelLostError.name).toBe('AmqpChannelLostError')
      expect(AmqpRequeuedError.name).toBe('AmqpRequeuedError')
    })

    it('says so when the broker cancels a consumer (its queue deleted)', async () => {
      const queue = queueName()
      const connection = await connect()
      const channel = await connection.createChannel()
      await channel.assertQueue(queue, { durable: false })
      const shutdown = testShutdown()
      const warnings: string[] = []
      shutdown.on('warning', (w) => warnings.push(w.code))
      const consumers = createConsumers(shutdown, channel)
      await consumers.consume(queue, () => {})
      const other = await connection.createChannel()
      await other.deleteQueue(queue)
      await until(() => warnings.length === 1, 5000, 'the warning')
      expect(warnings).toEqual(['LAMEDUCK_WARN_AMQP_CONSUMER_CANCELLED'])
      const report = await shutdown.shutdown()
      expect(consumers.stats?.consumers).toBe(0)
      expect(taskReport(report, 'amqp-consumers').outcome).toBe('ok')
    })
  })
})
