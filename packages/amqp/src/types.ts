// What this package uses of amqplib, as structural types: the package imports nothing of amqplib (it takes
// the channel and the connection you pass in), so these accept amqplib's own classes — 2.x with its bundled
// declarations, 0.10 with @types/amqplib — without tying the package to one copy of either.

/** A delivery, as amqplib hands it to a consumer: what this package reads of it is `fields.deliveryTag`. */
export interface AmqpMessageLike {
  readonly fields: { readonly deliveryTag: number; readonly redelivered?: boolean }
}

/** The options of amqplib's `channel.consume()`, as this package passes them on. */
export interface AmqpConsumeOptions {
  consumerTag?: string
  noLocal?: boolean
  noAck?: boolean
  exclusive?: boolean
  priority?: number
  // biome-ignore lint/suspicious/noExplicitAny: amqplib's own type for the consume arguments table
  arguments?: any
}

// biome-ignore lint/suspicious/noExplicitAny: an event listener of amqplib's EventEmitter, whatever its arguments
type Listener = (...args: any[]) => void

/**
 * What this package uses of an amqplib channel (`connection.createChannel()` or `createConfirmChannel()`):
 * `consume`, `cancel`, `ack`, `nack`, `prefetch`, `checkExchange`, `close` and its `close` and `error` events.
 * `M` is the type of its deliveries.
 */
export interface AmqpChannelLike<M extends AmqpMessageLike = AmqpMessageLike> {
  consume(
    queue: string,
    onMessage: (message: M | null) => void,
    options?: AmqpConsumeOptions,
  ): Promise<{ consumerTag: string }>
  cancel(consumerTag: string): Promise<unknown>
  ack(message: M, allUpTo?: boolean): void
  nack(message: M, allUpTo?: boolean, requeue?: boolean): void
  prefetch(count: number, global?: boolean): Promise<unknown>
  checkExchange(exchange: string): Promise<unknown>
  close(): Promise<void>
  on(event: string, listener: Listener): unknown
  removeListener(event: string, listener: Listener): unknown
}

/** Any channel, whatever the type of its deliveries: what `createConsumers` and `closeAmqp` accept. */
// biome-ignore lint/suspicious/noExplicitAny: the delivery type is inferred from the channel (see MessageOf)
export type AnyAmqpChannel = AmqpChannelLike<any>

/** A confirm channel (`connection.createConfirmChannel()`): a channel with `waitForConfirms()`. */
export interface AmqpConfirmChannelLike extends AmqpChannelLike {
  waitForConfirms(): Promise<void>
}

/**
 * What this package uses of an amqplib connection (what `amqp.connect()` resolves to): `close()` and its
 * `close`, `error`, `blocked` and `unblocked` events.
 */
export interface AmqpConnectionLike {
  close(): Promise<void>
  createChannel(...args: never[]): Promise<unknown>
  on(event: string, listener: Listener): unknown
  removeListener(event: string, listener: Listener): unknown
}

/** The type of the deliveries of channel `C`: amqplib's `ConsumeMessage` for its channels. */
export type MessageOf<C> = C extends {
  consume(queue: string, onMessage: (message: infer M) => void, ...rest: never[]): unknown
}
  ? Exclude<M, null>
  : AmqpMessageLike
