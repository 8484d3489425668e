import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/amqp` throws or records, each with its class. */
export const AMQP_ERROR_CODES = [
  /** {@link AmqpRequeuedError} */
  'LAMEDUCK_ERR_AMQP_REQUEUED',
  /** {@link AmqpChannelLostError} */
  'LAMEDUCK_ERR_AMQP_CHANNEL_LOST',
  /** {@link AmqpUnconfirmedError} */
  'LAMEDUCK_ERR_AMQP_UNCONFIRMED',
  /** {@link AmqpCloseTimeoutError} */
  'LAMEDUCK_ERR_AMQP_CLOSE_TIMEOUT',
  /** {@link AmqpConnectionLostError} */
  'LAMEDUCK_ERR_AMQP_CONNECTION_LOST',
  /** {@link AmqpShuttingDownError} */
  'LAMEDUCK_ERR_AMQP_SHUTTING_DOWN',
] as const

/**
 * The warning codes `@lameduck/amqp` emits (`shutdown.on('warning')` and the log):
 * - `LAMEDUCK_WARN_AMQP_CONSUMER_CANCELLED` — the broker cancelled a consumer (its queue was deleted, or
 *   its node went away): no delivery comes through it any more, and nothing in amqplib says so but a `null`
 *   message;
 * - `LAMEDUCK_WARN_AMQP_INTERNALS` — `closeAmqp` cannot list the connection's channels (another amqplib
 *   version): only those given in `channels` and those of `createConsumers` get their confirms awaited and
 *   are closed one by one.
 */
export const AMQP_WARNING_CODES = ['LAMEDUCK_WARN_AMQP_CONSUMER_CANCELLED', 'LAMEDUCK_WARN_AMQP_INTERNALS'] as const

/** What the consumers task of `createConsumers` did, once it has run. */
export interface AmqpConsumersStats {
  /** Consumers of the channel when the drain began (those the broker had not cancelled). */
  consumers: number
  /** Of those, cancelled by the task (`basic.cancel` answered): no delivery comes through them any more. */
  cancelled: number
  /** Deliveries whose handler was running when the drain began. */
  inFlightAtDrain: number
  /** Deliveries that arrived after the drain began (sent by the broker before it saw the cancel): never handed to a handler, nack-requeued at once. */
  arrivedDuringDrain: number
  /** Deliveries whose handler finished during the drain, and that were acked. */
  acked: number
  /** Deliveries whose handler failed during the drain (not because of its signal): settled as `failures` says. */
  failed: number
  /** Deliveries nack-requeued because their handler stopped (rejected) after its AbortSignal aborted. */
  requeuedAborted: number
  /** Deliveries whose handler was still running at the task's stop time: nack-requeued (a later result is ignored). */
  requeuedAtStop: number
  /** Deliveries in flight when the channel closed during the drain: they could not be settled; the broker requeues them. */
  lost: number
  /** Whether the broker answered a round trip sent after the last ack and nack: it has read all of them. */
  synced: boolean
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
}

/**
 * Deliveries did not finish within the consumers task's budget: they were nack-requeued (`requeue=true`),
 * so that another consumer gets them at once, flagged `redelivered` — none is lost, but their work was not
 * done here (or was cut: a handler that ignored its AbortSignal may have done part of it). Code
 * `LAMEDUCK_ERR_AMQP_REQUEUED`.
 */
export class AmqpRequeuedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_AMQP_REQUEUED'

  constructor(readonly stats: AmqpConsumersStats) {
    const requeued = stats.requeuedAborted + stats.requeuedAtStop
    super(
      'LAMEDUCK_ERR_AMQP_REQUEUED',
      `${requeued} delivery(ies) did not finish within the drain's budget and were nack-requeued ` +
        `(${stats.requeuedAborted} stopped after their AbortSignal aborted, ${stats.requeuedAtStop} still running ` +
        `at the stop time); ${stats.acked} finished and were acked`,
    )
  }
}

/**
 * The channel closed while the consumers task drained it — the connection was lost, or the broker closed
 * the channel (a channel error) — or the round trip after the last ack failed. The deliveries in flight
 * then could not be settled (`stats.lost`): the broker requeues every unacknowledged delivery of a closed
 * channel and redelivers it, flagged `redelivered`. Acks sent just before the loss may not have reached
 * the broker: those deliveries come back too, though they were processed. `cause` is amqplib's error.
 * Code `LAMEDUCK_ERR_AMQP_CHANNEL_LOST`.
 */
export class AmqpChannelLostError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_AMQP_CHANNEL_LOST'

  constructor(
    readonly stats: AmqpConsumersStats,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'LAMEDUCK_ERR_AMQP_CHANNEL_LOST',
      `the channel was lost during the drain (${detail}): ${stats.lost} delivery(ies) in flight could not be ` +
        `settled and are requeued by the broker; ${stats.acked} were acked before`,
      options,
    )
  }
}

/** How the publisher confirms of the channels `closeAmqp` closed ended, per channel. */
export interface AmqpConfirmsSummary {
  /** Confirm channels waited for. */
  channels: number
  /** Channels whose every publish was confirmed (acked by the broker). */
  confirmed: number
  /** Channels on which the broker nacked a publish (`waitForConfirms` rejected with "message nacked"). */
  nacked: number
  /** Channels that closed with publishes unconfirmed (amqplib: "channel closed"). */
  closed: number
  /** Channels with publishes still unconfirmed when the time for confirms ran out. */
  timedOut: number
  /** Publishes still unconfirmed then, over every channel; `undefined` when this amqplib does not show them. */
  unconfirmed: number | undefined
}

/**
 * Publisher confirms were missing when `closeAmqp` closed the channels: the broker nacked a publish, a
 * confirm channel closed with publishes unconfirmed, or they were still unconfirmed when the time for
 * confirms ran out (`summary` says which). A publish that was not confirmed may or may not have been
 * routed: publish it again (idempotently) after the restart, or keep it until it is confirmed. Code
 * `LAMEDUCK_ERR_AMQP_UNCONFIRMED`.
 */
export class AmqpUnconfirmedError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_AMQP_UNCONFIRMED'

  constructor(
    readonly summary: AmqpConfirmsSummary,
    blocked: boolean,
  ) {
    const unconfirmed = summary.unconfirmed === undefined ? '' : `, ${summary.unconfirmed} publish(es) unconfirmed`
    super(
      'LAMEDUCK_ERR_AMQP_UNCONFIRMED',
      `publisher confirms missing on ${summary.channels - summary.confirmed} of ${summary.channels} confirm ` +
        `channel(s): ${summary.nacked} with a publish nacked by the broker, ${summary.closed} closed before ` +
        `confirming, ${summary.timedOut} still waiting when the time ran out${unconfirmed}` +
        (blocked ? ' (the broker had blocked the connection: a resource alarm)' : ''),
    )
  }
}

/**
 * `closeAmqp` could not close the channels or the connection before its deadline (the broker did not
 * answer: a resource alarm that blocks the connection, a broker that hangs): the socket was destroyed
 * instead, where amqplib lets it be reached. The broker requeues the unacknowledged deliveries of a
 * connection that goes. Code `LAMEDUCK_ERR_AMQP_CLOSE_TIMEOUT`.
 */
export class AmqpCloseTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_AMQP_CLOSE_TIMEOUT'

  constructor(
    readonly what: 'channels' | 'connection',
    readonly destroyed: boolean,
    blocked: boolean,
  ) {
    super(
      'LAMEDUCK_ERR_AMQP_CLOSE_TIMEOUT',
      `the ${what === 'channels' ? 'channels were' : 'connection was'} not closed by the deadline` +
        (blocked ? ' (the broker had blocked the connection: a resource alarm)' : '') +
        (destroyed ? '; the socket was destroyed' : '; the socket could not be reached to destroy it'),
    )
  }
}

/**
 * The connection to the broker was lost — before `closeAmqp`'s task ran (`when: 'before'`) or while it
 * ran (`'during'`): nothing could be closed cleanly, and publisher confirms still outstanding will never
 * come. The broker requeues the connection's unacknowledged deliveries. `cause` is amqplib's error.
 * Code `LAMEDUCK_ERR_AMQP_CONNECTION_LOST`.
 */
export class AmqpConnectionLostError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_AMQP_CONNECTION_LOST'

  constructor(
    readonly when: 'before' | 'during',
    options?: { cause?: unknown },
  ) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(
      'LAMEDUCK_ERR_AMQP_CONNECTION_LOST',
      `the connection to the broker was lost ${when === 'before' ? 'before' : 'while'} closing it${detail}; ` +
        'its unacknowledged deliveries are requeued by the broker, its unconfirmed publishes are in doubt',
      options,
    )
  }
}

/**
 * `consume()` was called once the drain of its channel had begun: a consumer started then would take
 * deliveries that nothing would wait for. Code `LAMEDUCK_ERR_AMQP_SHUTTING_DOWN`.
 */
export class AmqpShuttingDownError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_AMQP_SHUTTING_DOWN'

  constructor(readonly queue: string) {
    super('LAMEDUCK_ERR_AMQP_SHUTTING_DOWN', `cannot consume from "${queue}": the drain of this channel has begun`)
  }
}

/** A code of {@link AMQP_ERROR_CODES}. */
export type AmqpErrorCode = (typeof AMQP_ERROR_CODES)[number]
/** A code of {@link AMQP_WARNING_CODES}. */
export type AmqpWarningCode = (typeof AMQP_WARNING_CODES)[number]
