import {
  AMQP_DEFAULTS,
  AMQP_ERROR_CODES,
  AMQP_WARNING_CODES,
  type AmqpClose,
  type AmqpCloseStats,
  type AmqpConsumers,
  type AmqpConsumersStats,
  type AmqpErrorCode,
  AmqpRequeuedError,
  type AmqpWarningCode,
  type CloseAmqpOptions,
  type ConsumeOptions,
  type CreateConsumersOptions,
  closeAmqp,
  createConsumers,
  type DeliveryContext,
} from '@lameduck/amqp'
import type { Registration, Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions } from '@lameduck/core/adapter'
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown
declare const connection: ChannelModel
declare const channel: Channel
declare const confirmChannel: ConfirmChannel

describe('public types of @lameduck/amqp', () => {
  it("takes amqplib's own channels, and gives the handler amqplib's ConsumeMessage", () => {
    const consumers = createConsumers(shutdown, channel, { abortBeforeMs: 500, failures: 'reject' })
    expectTypeOf(consumers).toEqualTypeOf<AmqpConsumers<ConsumeMessage>>()
    expectTypeOf(consumers).toExtend<Registration>()
    void consumers.consume(
      'jobs',
      async (message, context) => {
        expectTypeOf(message).toEqualTypeOf<ConsumeMessage>()
        expectTypeOf(context).toEqualTypeOf<DeliveryContext>()
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>()
      },
      { prefetch: 10, onError: (_error, message) => expectTypeOf(message).toEqualTypeOf<ConsumeMessage>() },
    )
    expectTypeOf(consumers.consume('jobs', () => {})).resolves.toEqualTypeOf<{ consumerTag: string }>()
    expectTypeOf(consumers.stats).toEqualTypeOf<AmqpConsumersStats | undefined>()
    expectTypeOf(consumers.inFlight()).toEqualTypeOf<number>()
    createConsumers(shutdown, confirmChannel)
    expectTypeOf<CreateConsumersOptions>().toExtend<AdapterTaskOptions>()
    expectTypeOf<ConsumeOptions['noAck']>().toEqualTypeOf<false | undefined>()
    // @ts-expect-error noAck: true cannot be drained
    void consumers.consume('jobs', () => {}, { noAck: true })
    // @ts-expect-error not an option
    createConsumers(shutdown, channel, { abortBefore: 1 })
    // @ts-expect-error a connection is not a channel
    createConsumers(shutdown, connection)
    // @ts-expect-error the coordinator comes first
    createConsumers(channel)
  })

  it('closeAmqp takes the connection amqp.connect() resolves to, and its channels', () => {
    const close = closeAmqp(shutdown, connection, { closeMs: 500, channels: [channel, confirmChannel] })
    expectTypeOf(close).toEqualTypeOf<AmqpClose>()
    expectTypeOf(close.stats).toEqualTypeOf<AmqpCloseStats | undefined>()
    expectTypeOf<CloseAmqpOptions>().toExtend<AdapterTaskOptions>()
    // @ts-expect-error a channel is not a connection
    closeAmqp(shutdown, channel)
    // @ts-expect-error not an option
    closeAmqp(shutdown, connection, { close: 1 })
  })

  it('the defaults and the codes', () => {
    expectTypeOf(AMQP_DEFAULTS.failures).toEqualTypeOf<'requeue'>()
    expectTypeOf(AMQP_DEFAULTS.consumers.phase).toEqualTypeOf<'drain'>()
    expectTypeOf(AMQP_ERROR_CODES[0]).toEqualTypeOf<'LAMEDUCK_ERR_AMQP_REQUEUED'>()
    expectTypeOf<AmqpErrorCode>().toEqualTypeOf<
      | 'LAMEDUCK_ERR_AMQP_REQUEUED'
      | 'LAMEDUCK_ERR_AMQP_CHANNEL_LOST'
      | 'LAMEDUCK_ERR_AMQP_UNCONFIRMED'
      | 'LAMEDUCK_ERR_AMQP_CLOSE_TIMEOUT'
      | 'LAMEDUCK_ERR_AMQP_CONNECTION_LOST'
      | 'LAMEDUCK_ERR_AMQP_SHUTTING_DOWN'
    >()
    expectTypeOf(new AmqpRequeuedError({} as AmqpConsumersStats).code).toEqualTypeOf<'LAMEDUCK_ERR_AMQP_REQUEUED'>()
    expectTypeOf<AmqpWarningCode>().toEqualTypeOf<
      'LAMEDUCK_WARN_AMQP_CONSUMER_CANCELLED' | 'LAMEDUCK_WARN_AMQP_INTERNALS'
    >()
    expectTypeOf(AMQP_WARNING_CODES).toEqualTypeOf<
      readonly ['LAMEDUCK_WARN_AMQP_CONSUMER_CANCELLED', 'LAMEDUCK_WARN_AMQP_INTERNALS']
    >()
  })
})
