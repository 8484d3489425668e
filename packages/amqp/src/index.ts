export {
  type AmqpClose,
  type AmqpCloseStats,
  CLOSE_OPTIONS,
  type CloseAmqpOptions,
  closeAmqp,
} from './close.js'
export {
  type AmqpConsumers,
  type AmqpFailures,
  CONSUME_OPTIONS,
  CONSUMERS_OPTIONS,
  type ConsumeOptions,
  type CreateConsumersOptions,
  createConsumers,
  type DeliveryContext,
  type DeliveryHandler,
} from './consumers.js'
export { AMQP_DEFAULTS } from './defaults.js'
export {
  AMQP_ERROR_CODES,
  AMQP_WARNING_CODES,
  AmqpChannelLostError,
  AmqpCloseTimeoutError,
  type AmqpConfirmsSummary,
  AmqpConnectionLostError,
  type AmqpConsumersStats,
  type AmqpErrorCode,
  AmqpRequeuedError,
  AmqpShuttingDownError,
  AmqpUnconfirmedError,
  type AmqpWarningCode,
} from './errors.js'
export type {
  AmqpChannelLike,
  AmqpConfirmChannelLike,
  AmqpConnectionLike,
  AmqpConsumeOptions,
  AmqpMessageLike,
  AnyAmqpChannel,
  MessageOf,
} from './types.js'
