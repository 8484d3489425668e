// closeAmqp against a real RabbitMQ: publisher confirms of what was published during the shutdown awaited,
// channels closed then the connection; and what goes wrong — a publish nacked, a connection lost, a broker
// that no longer answers — reported within the budget.

import { closeAmqp, createConsumers } from '@lameduck/amqp'
import amqp from 'amqplib'
import { describe, expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { AMQP_URL, brokerProxy, connect, queueName, ready } from './helpers.js'

await describeWith('RabbitMQ', 'closeAmqp', () => {
  it('waits for the confirms of what a later phase published, then closes the channels, then the connection', async () => {
    const queue = queueName('published')
    const connection = await connect()
    const publisher = await connection.createConfirmChannel()
    const plain = await connection.createChannel()
    await publisher.assertQueue(queue, { durable: false })
    const order: string[] = []
    publisher.on('close', () => order.push('confirm channel'))
    plain.on('close', () => order.push('channel'))
    connection.on('close', () => order.push('connection'))
    const shutdown = testShutdown()
    // The flush phase publishes and does not wait: the close phase has to.
    shutdown.addTask({
      name: 'publish-results',
      phase: 'flush',
      run: () => {
        for (let i = 0; i < 2000; i++) publisher.sendToQueue(queue, Buffer.from(String(i)))
      },
    })
    const close = closeAmqp(shutdown, connection)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'amqp-close').outcome).toBe('ok')
    expect(close.stats).toMatchObject({
      channels: 2,
      closed: true,
      blocked: false,
      confirms: { channels: 1, confirmed: 1, nacked: 0, closed: 0, timedOut: 0, unconfirmed: 0 },
    })
    expect(order.slice(-1)).toEqual(['connection'])
    expect(order.slice(0, 2).sort()).toEqual(['channel', 'confirm channel'])
    expect(await ready(queue)).toBe(2000)
  })

  it('fails with AmqpUnconfirmedError when the broker nacks a publish (a full queue that rejects publishes)', async () => {
    const queue = queueName('full')
    const connection = await connect()
    const publisher = await connection.createConfirmChannel()
    await publisher.assertQueue(queue, {
      durable: false,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    })
    for (let i = 0; i < 5; i++) publisher.sendToQueue(queue, Buffer.from(String(i)))
    const shutdown = testShutdown()
    const close = closeAmqp(shutdown, connection)
    const task = taskReport(await shutdown.shutdown(), 'amqp-close')
    expect(task.code).toBe('LAMEDUCK_ERR_AMQP_UNCONFIRMED')
    expect(task.error).toMatch(/1 with a publish nacked by the broker/)
    expect(close.stats?.confirms).toMatchObject({ channels: 1, nacked: 1 })
    expect(close.stats?.closed).toBe(true)
  })

  it('a broker that no longer answers: confirms and closes given up within the budget, the socket destroyed', async () => {
    const queue = queueName('frozen')
    const proxy = await brokerProxy()
    const connection = await connect(proxy.port)
    const publisher = await connection.createConfirmChannel()
    await publisher.assertQueue(queue, { durable: false })
    proxy.freeze()
    for (let i = 0; i < 10; i++) publisher.sendToQueue(queue, Buffer.from(String(i)))
    const shutdown = testShutdown()
    const close = closeAmqp(shutdown, connection, { timeoutMs: 1500, closeMs: 500 })
    const closed = new Promise<void>((resolve) => connection.once('close', () => resolve()))
    const start = performance.now()
    const task = taskReport(await shutdown.shutdown(), 'amqp-close')
    expect(performance.now() - start).toBeLessThan(2500)
    expect(task.code).toBe('LAMEDUCK_ERR_AMQP_CLOSE_TIMEOUT')
    expect(task.error).toMatch(/the socket was destroyed/)
    expect(close.stats?.confirms).toMatchObject({ channels: 1, timedOut: 1, unconfirmed: 10 })
    await closed
  })

  it('a connection lost during the shutdown, with no error listener of its own: reported, not thrown', async () => {
    const proxy = await brokerProxy()
    const url = new URL(AMQP_URL)
    url.hostname = '127.0.0.1'
    url.port = String(proxy.port)
    // No `error` listener: without closeAmqp's, amqplib's `error` event would be an uncaught exception.
    const connection = await amqp.connect(url.toString())
    await connection.createChannel()
    const shutdown = testShutdown()
    shutdown.addTask({
      name: 'broker-dies',
      phase: 'drain',
      run: async () => {
        const gone = new Promise((resolve) => connection.once('close', resolve))
        await proxy.kill()
        await gone
      },
    })
    closeAmqp(shutdown, connection)
    const task = taskReport(await shutdown.shutdown(), 'amqp-close')
    expect(task.code).toBe('LAMEDUCK_ERR_AMQP_CONNECTION_LOST')
    expect(task.error).toMatch(/lost before closing it/)
  })

  it('a connection the application closed itself: nothing to do', async () => {
    const connection = await connect()
    const shutdown = testShutdown()
    closeAmqp(shutdown, connection)
    await connection.close()
    expect(taskReport(await shutdown.shutdown(), 'amqp-close').outcome).toBe('ok')
  })

  describe('without the internals that list the channels', () => {
    it('closes the channels of createConsumers and those given in `channels` one by one', async () => {
      const connection = await connect()
      const consumed = await connection.createChannel()
      const given = await connection.createConfirmChannel()
      const other = await connection.createChannel()
      const closedFirst: string[] = []
      for (const [name, channel] of [
        ['consumed', consumed],
        ['given', given],
        ['other', other],
      ] as const)
        channel.on('close', () => closedFirst.push(name))
      connection.on('close', () => closedFirst.push('connection'))
      const shutdown = testShutdown()
      const warnings: string[] = []
      shutdown.on('warning', (w) => warnings.push(w.code))
      // What another amqplib would look like: a protocol connection without `channels` (the same object seen
      // from the ChannelModel and from its channels, as in amqplib).
      const inner = hiding(connection.connection as object, 'channels')
      const over = <T extends object>(target: T): T =>
        new Proxy(target, {
          get(object, key) {
            if (key === 'connection') return inner
            const value: unknown = Reflect.get(object, key, object)
            return typeof value === 'function' ? value.bind(object) : value
          },
        })
      createConsumers(shutdown, over(consumed))
      const close = closeAmqp(shutdown, over(connection), { channels: [given] })
      expect(taskReport(await shutdown.shutdown(), 'amqp-close').outcome).toBe('ok')
      expect(warnings).toEqual([])
      expect(close.stats).toMatchObject({ channels: 2, confirms: { channels: 1, confirmed: 1 } })
      // `consumed` and `given` closed by the task, `other` with the connection (amqplib closes the rest then).
      expect(closedFirst.indexOf('given')).toBeLessThan(closedFirst.indexOf('connection'))
      expect(closedFirst.indexOf('consumed')).toBeLessThan(closedFirst.indexOf('connection'))
      expect(closedFirst).toContain('other')
    })

    it('warns when it has no other channel to go by than those of createConsumers', async () => {
      const connection = await connect()
      const consumed = await connection.createChannel()
      const shutdown = testShutdown()
      const warnings: string[] = []
      shutdown.on('warning', (w) => warnings.push(w.code))
      const close = closeAmqp(shutdown, hiding(connection, 'connection'))
      createConsumers(shutdown, consumed)
      expect(taskReport(await shutdown.shutdown(), 'amqp-close').outcome).toBe('ok')
      expect(warnings).toEqual(['LAMEDUCK_WARN_AMQP_INTERNALS'])
      expect(close.stats?.channels).toBe(0)
    })
  })
})
