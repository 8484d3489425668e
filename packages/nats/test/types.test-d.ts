import type { Registration, Shutdown } from '@lameduck/core'
import type { AdapterTaskOptions } from '@lameduck/core/adapter'
import {
  type ConsumeOptions,
  consume,
  drainNats,
  type HandlerContext,
  NATS_DEFAULTS,
  NATS_ERROR_CODES,
  NATS_WARNING_CODES,
  type NatsConsumer,
  type NatsConsumeStats,
  NatsDrainFailedError,
  NatsDrainTimeoutError,
  type NatsErrorCode,
  NatsHandlersAbandonedError,
  NatsMessagesLostError,
  NatsUnconfirmedError,
  type NatsWarningCode,
} from '@lameduck/nats'
import type { Consumer, ConsumerMessages, JsMsg, ConsumeOptions as NatsJsConsumeOptions } from '@nats-io/jetstream'
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import type * as v2 from 'nats'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown
declare const nc: NatsConnection
declare const sub: Subscription
declare const consumer: Consumer
declare const messages: ConsumerMessages
declare const ncV2: v2.NatsConnection
declare const consumerV2: v2.Consumer
declare const subV2: v2.Subscription

describe('public types of @lameduck/nats', () => {
  it("types the handler's message with the client's own: Msg for a subscription, JsMsg for JetStream", () => {
    consume(shutdown, sub, (msg, context) => {
      expectTypeOf(msg).toEqualTypeOf<Msg>()
      expectTypeOf(context).toEqualTypeOf<HandlerContext>()
      expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>()
    })
    consume(shutdown, consumer, (msg) => expectTypeOf(msg).toEqualTypeOf<JsMsg>())
    consume(shutdown, messages, (msg) => expectTypeOf(msg).toEqualTypeOf<JsMsg>())
    consume(shutdown, consumerV2, (msg) => expectTypeOf(msg).toEqualTypeOf<v2.JsMsg>())
    consume(shutdown, subV2, (msg) => expectTypeOf(msg).toEqualTypeOf<v2.Msg>())
    consume(shutdown, consumer, (_msg) => {}, { onError: (_error, msg) => expectTypeOf(msg).toEqualTypeOf<JsMsg>() })
  })

  it("takes the consumer's own consume() options, and returns the one handle shape", () => {
    const handle = consume(shutdown, consumer, async () => {}, {
      consumeOptions: { max_messages: 10, expires: 5_000 },
      concurrency: 4,
      buffered: 'nak',
      ack: 'manual',
    })
    expectTypeOf(handle).toEqualTypeOf<NatsConsumer>()
    expectTypeOf(handle).toExtend<Registration>()
    expectTypeOf(handle.stats).toEqualTypeOf<NatsConsumeStats | undefined>()
    expectTypeOf(handle.done).toEqualTypeOf<Promise<void>>()
    expectTypeOf<ConsumeOptions<Consumer>['consumeOptions']>().toEqualTypeOf<NatsJsConsumeOptions | undefined>()
    expectTypeOf<ConsumeOptions>().toExtend<AdapterTaskOptions>()
    // @ts-expect-error not an option of nats.js's consume()
    consume(shutdown, consumer, () => {}, { consumeOptions: { max_messages: '10' } })
    // @ts-expect-error not an option
    consume(shutdown, sub, () => {}, { timeout: 1 })
    // @ts-expect-error not a subscription or a consumer
    consume(shutdown, nc, () => {})
    // @ts-expect-error the coordinator comes first
    consume(sub, () => {})
  })

  it('drainNats takes a v3 or a v2 connection', () => {
    expectTypeOf(drainNats(shutdown, nc)).toEqualTypeOf<Registration>()
    drainNats(shutdown, ncV2, { timeoutMs: 1_000, phase: 'close' })
    // @ts-expect-error not a connection
    drainNats(shutdown, sub)
  })

  it('the defaults and the codes', () => {
    expectTypeOf(NATS_DEFAULTS.consume.phase).toEqualTypeOf<'drain'>()
    expectTypeOf(NATS_DEFAULTS.drain.phase).toEqualTypeOf<'close'>()
    expectTypeOf(NATS_DEFAULTS.buffered).toEqualTypeOf<'process'>()
    expectTypeOf<NatsErrorCode>().toEqualTypeOf<
      | 'LAMEDUCK_ERR_NATS_MESSAGES_LOST'
      | 'LAMEDUCK_ERR_NATS_HANDLERS_ABANDONED'
      | 'LAMEDUCK_ERR_NATS_UNCONFIRMED'
      | 'LAMEDUCK_ERR_NATS_DRAIN_TIMEOUT'
      | 'LAMEDUCK_ERR_NATS_DRAIN_FAILED'
    >()
    expectTypeOf(NATS_ERROR_CODES[0]).toEqualTypeOf<'LAMEDUCK_ERR_NATS_MESSAGES_LOST'>()
    expectTypeOf<NatsWarningCode>().toEqualTypeOf<'LAMEDUCK_WARN_NATS_INTERNALS'>()
    expectTypeOf(NATS_WARNING_CODES).toEqualTypeOf<readonly ['LAMEDUCK_WARN_NATS_INTERNALS']>()
    const stats = {} as NatsConsumeStats
    for (const error of [
      new NatsMessagesLostError(stats),
      new NatsHandlersAbandonedError(stats),
      new NatsUnconfirmedError(stats),
      new NatsDrainTimeoutError(1, false),
      new NatsDrainFailedError(new Error('x'), true),
    ])
      expectTypeOf(error.code).toEqualTypeOf<NatsErrorCode>()
  })
})
