// What this package uses of nats.js, as structural types: nats.js v3 (`@nats-io/transport-node`,
// `@nats-io/jetstream`) and v2 (`nats`) both fit them, and nothing of either is imported — a service brings
// the one it uses, and its own types (`Msg`, `JsMsg`, `ConsumeOptions`) are what the handler and the options
// are typed with.

/** What `drainNats` uses of a `NatsConnection` (v3 or v2). */
export interface NatsConnectionLike {
  drain(): Promise<void>
  close(): Promise<void>
  flush(): Promise<void>
  closed(): Promise<unknown>
  isClosed(): boolean
  isDraining(): boolean
}

/** A message of a JetStream consumer (`JsMsg`): what the consumer acks and naks. */
export interface JsMsgLike {
  ack(): void
  nak(millis?: number): void
  term(reason?: string): void
  working(): void
}

/**
 * A core NATS subscription (`nc.subscribe(subject, { queue? })`), made without a `callback`: its messages are
 * read through its async iterator, which `consume` does.
 */
export interface SubscriptionLike<M = unknown> extends AsyncIterable<M> {
  drain(): Promise<void>
  unsubscribe(max?: number): void
  getSubject(): string
  isClosed(): boolean
}

/** What a pull consumer's `consume()` returns (`ConsumerMessages`), made without a `callback`. */
export interface ConsumerMessagesLike<M extends JsMsgLike = JsMsgLike> extends AsyncIterable<M> {
  stop(err?: Error): void
  close(): Promise<unknown>
}

/** A JetStream pull consumer (`await js.consumers.get(stream, name)`). */
export interface JetStreamConsumerLike<M extends JsMsgLike = JsMsgLike> {
  /** nats.js's own `ConsumeOptions`, whatever its version: {@link ConsumeOptionsOf} reads them back. */
  consume(options?: never): Promise<ConsumerMessagesLike<M>>
  fetch(...args: never[]): Promise<unknown>
  info(...args: never[]): Promise<unknown>
}

/** What `consume` takes: a core subscription, a JetStream pull consumer, or the messages of its `consume()`. */
export type NatsSource = SubscriptionLike | JetStreamConsumerLike | ConsumerMessagesLike

/** The message type of a source: nats.js's `Msg` for a subscription, `JsMsg` for JetStream. */
export type MessageOf<S> =
  S extends JetStreamConsumerLike<infer M>
    ? M
    : S extends ConsumerMessagesLike<infer M>
      ? M
      : S extends AsyncIterable<infer M>
        ? M
        : never

/** The options of the consumer's own `consume()` (nats.js's `ConsumeOptions`), for a JetStream consumer. */
export type ConsumeOptionsOf<S> = S extends { consume(options?: infer O): unknown } ? O : never
