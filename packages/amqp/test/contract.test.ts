// The adapter contract of @lameduck/core/adapter for createConsumers and closeAmqp, through the shared
// table-driven suite, and what a JavaScript caller can get wrong with their own arguments and options (and
// consume()'s): one named error per mistake. The resources are real channels and connections of RabbitMQ.
import { createRequire } from 'node:module'
import { AMQP_DEFAULTS, closeAmqp, createConsumers } from '@lameduck/amqp'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeAdapterContract, expectRefused } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { AMQP_URL, type Channel, type ChannelModel, queueWith } from './helpers.js'

// Built first (pnpm --filter @lameduck/amqp build): the CommonJS copy of the package.
const commonJs = createRequire(import.meta.url)('@lameduck/amqp') as typeof import('@lameduck/amqp')

// The contract asks for its resources synchronously: channels and connections opened beforehand.
let shared: ChannelModel
const channels: Channel[] = []
const connections: ChannelModel[] = []
const next = <T>(pool: T[], what: string): T => {
  const item = pool.shift()
  if (item === undefined) throw new Error(`the contract test needs more ${what}`)
  return item
}

await describeWith('RabbitMQ', '@lameduck/amqp', () => {
  beforeAll(async () => {
    shared = await amqp.connect(AMQP_URL)
    shared.on('error', () => {})
    for (let i = 0; i < 16; i++) channels.push(await shared.createChannel())
    for (let i = 0; i < 10; i++) {
      const connection = await amqp.connect(AMQP_URL)
      connection.on('error', () => {})
      connections.push(connection)
    }
  })
  afterAll(async () => {
    for (const connection of [shared, ...connections]) await connection?.close().catch(() => {})
  })

  describeAdapterContract('@lameduck/amqp', [
    {
      where: 'createConsumers',
      defaults: AMQP_DEFAULTS.consumers,
      resource: () => next(channels, 'channels'),
      register: (shutdown, resource, options) => createConsumers(shutdown, resource as Channel, options as never),
      members: ['consume', 'inFlight', 'stats'],
      durations: { abortBeforeMs: {} },
      registerCommonJs: (shutdown, resource) => commonJs.createConsumers(shutdown, resource as Channel),
    },
    {
      where: 'closeAmqp',
      defaults: AMQP_DEFAULTS.close,
      resource: () => next(connections, 'connections'),
      register: (shutdown, resource, options) => closeAmqp(shutdown, resource as ChannelModel, options as never),
      members: ['stats'],
      durations: { closeMs: {} },
      registerCommonJs: (shutdown, resource) => commonJs.closeAmqp(shutdown, resource as ChannelModel),
    },
  ])

  describe('wrong arguments and options', () => {
    const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
    const UNKNOWN = 'LAMEDUCK_ERR_UNKNOWN_OPTION'

    it('createConsumers refuses what is not a channel: the connection, a confirm-less object, nothing', async () => {
      const shutdown = testShutdown()
      await expectRefused(
        () => createConsumers(shutdown, shared as never),
        INVALID,
        /channel argument of createConsumers: expected an amqplib channel \(connection\.createChannel\(\)\); got .*which has no consume\(\) method/,
      )
      for (const nothing of [undefined, null, 'channel'])
        await expectRefused(
          () => createConsumers(shutdown, nothing as never),
          INVALID,
          /channel argument of createConsumers/,
        )
      await expectRefused(
        () => createConsumers(channels[0] as never, channels[0] as never),
        INVALID,
        /shutdown argument of createConsumers.*createConsumers\(shutdown, channel, options\?\)/,
      )
      await expectRefused(
        () => createConsumers(shutdown, channels[0] as Channel, { failures: 'drop' as never }),
        INVALID,
        /failures of createConsumers: expected one of "requeue", "reject"; got "drop"/,
      )
      await expectRefused(
        () => createConsumers(shutdown, channels[0] as Channel, { abortBefore: 5 } as never),
        UNKNOWN,
        /createConsumers: unknown option "abortBefore" — did you mean "abortBeforeMs"\?/,
      )
    })

    it('closeAmqp refuses a channel for the connection, and channels that are not channels', async () => {
      const shutdown = testShutdown()
      await expectRefused(
        () => closeAmqp(shutdown, channels[0] as never),
        INVALID,
        /connection argument of closeAmqp: expected an amqplib connection \(what amqp\.connect\(\) resolves to\); got .*which has no createChannel\(\) method/,
      )
      await expectRefused(
        () => closeAmqp(shutdown, shared, { channels: channels[0] as never }),
        INVALID,
        /channels of closeAmqp: expected an array of channels/,
      )
      await expectRefused(
        () => closeAmqp(shutdown, shared, { channels: [{} as never] }),
        INVALID,
        /channels\[0\] of closeAmqp: expected an amqplib channel/,
      )
      await expectRefused(
        () => closeAmqp(shutdown, shared, { channel: [] } as never),
        UNKNOWN,
        /closeAmqp: unknown option "channel" — did you mean "channels"\?/,
      )
    })

    it('consume() refuses noAck, wrong options and typos, before anything is sent to the broker', async () => {
      const queue = await queueWith(0)
      const channel = await shared.createChannel()
      const shutdown = testShutdown()
      const consumers = createConsumers(shutdown, channel)
      const handler = () => {}
      await expectRefused(
        () => consumers.consume(queue, handler, { noAck: true as never }),
        INVALID,
        /noAck of consume: a consumer without acknowledgements cannot be drained/,
      )
      await expectRefused(
        () => consumers.consume(queue, handler, { prefetch: -1 }),
        INVALID,
        /prefetch of consume: expected an integer from 0 to 65535; got -1/,
      )
      await expectRefused(() => consumers.consume(queue, handler, { prefetch: 70_000 }), INVALID, /prefetch of consume/)
      await expectRefused(
        () => consumers.consume(queue, handler, { failures: 'retry' as never }),
        INVALID,
        /failures of consume/,
      )
      await expectRefused(
        () => consumers.consume(queue, handler, { onError: 5 as never }),
        INVALID,
        /onError of consume/,
      )
      await expectRefused(() => consumers.consume(queue, undefined as never), INVALID, /handler of consume/)
      await expectRefused(() => consumers.consume(5 as never, handler), INVALID, /queue of consume: expected a string/)
      await expectRefused(
        () => consumers.consume(queue, handler, { prefetchCount: 5 } as never),
        UNKNOWN,
        /consume: unknown option "prefetchCount" \(known: prefetch, /,
      )
      // Nothing reached the broker: the channel is still open, and no consumer was started.
      expect((await channel.checkQueue(queue)).consumerCount).toBe(0)
      const started = await consumers.consume(queue, handler, { prefetch: 5, exclusive: true, consumerTag: 'mine' })
      expect(started.consumerTag).toBe('mine')
      await shutdown.shutdown()
      expect(consumers.stats).toMatchObject({ consumers: 1, cancelled: 1 })
      await channel.close()
    })

    it('nothing is left on the channel or the connection by a refused call, and remove() takes the listeners off', async () => {
      const channel = channels[1] as Channel
      const listeners = () => channel.listenerCount('close') + channel.listenerCount('error')
      const before = listeners()
      const shutdown = testShutdown()
      expect(() => createConsumers(shutdown, channel, { failures: 'x' as never })).toThrow()
      expect(listeners()).toBe(before)
      const ok = createConsumers(shutdown, channel)
      expect(listeners()).toBe(before + 1)
      ok.remove()
      expect(listeners()).toBe(before)
      const connection = connections[connections.length - 1] as ChannelModel
      const events = () => ['close', 'error', 'blocked', 'unblocked'].map((e) => connection.listenerCount(e))
      const initially = events()
      expect(() => closeAmqp(shutdown, connection, { closeMs: -1 })).toThrow()
      expect(events()).toEqual(initially)
      const close = closeAmqp(shutdown, connection)
      close.remove()
      expect(events()).toEqual(initially)
    })
  })
})
