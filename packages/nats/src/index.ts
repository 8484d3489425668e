export type {
  ConsumeOptionsOf,
  ConsumerMessagesLike,
  JetStreamConsumerLike,
  JsMsgLike,
  MessageOf,
  NatsConnectionLike,
  NatsSource,
  SubscriptionLike,
} from './client.js'
export {
  CONSUME_OPTIONS,
  type ConsumeOptions,
  consume,
  type HandlerContext,
  type MessageHandler,
  type NatsConsumer,
} from './consume.js'
export { NATS_DEFAULTS } from './defaults.js'
export { type DrainNatsOptions, drainNats } from './drain-nats.js'
export {
  NATS_ERROR_CODES,
  NATS_WARNING_CODES,
  type NatsConsumeStats,
  NatsDrainFailedError,
  NatsDrainTimeoutError,
  type NatsErrorCode,
  NatsHandlersAbandonedError,
  NatsMessagesLostError,
  NatsUnconfirmedError,
  type NatsWarningCode,
} from './errors.js'
