// The private fields of amqplib that internals.ts reads, checked on the amqplib versions the package
// supports — 2.x (its own declarations) and 0.10 (the last before 1.0, still widely installed) — with the
// fallback of each when they are missing; and one drain end to end on 0.10.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createConsumers } from '@lameduck/amqp'
import type amqplib from 'amqplib'
import { describe, expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { destroySocket, isBlocked, openChannels, unconfirmedCount } from '../src/internals.js'
import { AMQP_URL, queueName, queueWith, ready, until, work } from './helpers.js'

const require = createRequire(import.meta.url)
// amqplib 2 exports no ./package.json: its version is read from the file.
const version = (name: string) =>
  (
    JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as {
      version: string
    }
  ).version
const versions: [string, typeof amqplib][] = [
  [version('amqplib'), require('amqplib')],
  [version('amqplib010'), require('amqplib010')],
]

await describeWith('RabbitMQ', 'the amqplib internals the package reads', () => {
  describe.each(versions)('amqplib %s', (version, amqp) => {
    it('lists the open channels (the very objects createChannel gave), tells blocked, counts unconfirmed publishes', async () => {
      const connection = await amqp.connect(AMQP_URL)
      try {
        const one = await connection.createChannel()
        const two = await connection.createConfirmChannel()
        const three = await connection.createChannel()
        await three.close()
        expect(openChannels(connection)).toEqual([one, two])
        expect(openChannels(connection)?.[0]).toBe(one)
        // amqplib keeps `blocked` since 1.0.4; before, the events since the registration tell (close.ts).
        expect(isBlocked(connection)).toBe(version.startsWith('0.') ? undefined : false)
        const queue = queueName('internals')
        await two.assertQueue(queue, { durable: false })
        for (let i = 0; i < 50; i++) two.sendToQueue(queue, Buffer.from('x'))
        expect(unconfirmedCount(two)).toBe(50)
        await two.waitForConfirms()
        expect(unconfirmedCount(two)).toBe(0)
        const closed = new Promise((resolve) => connection.once('close', resolve))
        connection.on('error', () => {})
        expect(destroySocket(connection, new Error('gone'))).toBe(true)
        await closed
      } finally {
        await connection.close().catch(() => {})
      }
    })

    it('falls back when they are missing: no list, blocked unknown, no count, nothing to destroy', async () => {
      const connection = await amqp.connect(AMQP_URL)
      try {
        const channel = await connection.createConfirmChannel()
        const bare = hiding(connection, 'connection')
        expect(openChannels(bare)).toBeUndefined()
        expect(isBlocked(bare)).toBeUndefined()
        expect(destroySocket(bare, new Error('gone'))).toBe(false)
        expect(unconfirmedCount(hiding(channel, 'unconfirmed'))).toBeUndefined()
      } finally {
        await connection.close()
      }
    })

    it('drains a consumer: in-flight deliveries finished and acked', async () => {
      const queue = await queueWith(10)
      const connection = await amqp.connect(AMQP_URL)
      try {
        const channel = await connection.createChannel()
        const shutdown = testShutdown()
        const consumers = createConsumers(shutdown, channel, { timeoutMs: 3000 })
        await consumers.consume(queue, (_message, { signal }) => work(300, signal), { prefetch: 4 })
        await until(() => consumers.inFlight() === 4, 5000, '4 in flight')
        const report = await shutdown.shutdown()
        expect(taskReport(report, 'amqp-consumers').outcome).toBe('ok')
        expect(consumers.stats).toMatchObject({ cancelled: 1, acked: 4, synced: true })
        await channel.close()
        expect(await ready(queue)).toBe(6)
      } finally {
        await connection.close()
      }
    })
  })
})
