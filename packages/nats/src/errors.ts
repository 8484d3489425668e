import { LameduckError } from '@lameduck/core'
import { errorMessage } from '@lameduck/core/adapter'

/**
 * The closed catalogue of the error codes `@lameduck/nats` throws or records: {@link NatsMessagesLostError},
 * {@link NatsHandlersAbandonedError}, {@link NatsUnconfirmedError}, {@link NatsDrainTimeoutError} and
 * {@link NatsDrainFailedError}.
 */
export const NATS_ERROR_CODES = [
  'LAMEDUCK_ERR_NATS_MESSAGES_LOST',
  'LAMEDUCK_ERR_NATS_HANDLERS_ABANDONED',
  'LAMEDUCK_ERR_NATS_UNCONFIRMED',
  'LAMEDUCK_ERR_NATS_DRAIN_TIMEOUT',
  'LAMEDUCK_ERR_NATS_DRAIN_FAILED',
] as const

/**
 * The warning codes `@lameduck/nats` emits through the coordinator (`shutdown.on('warning')` and the log):
 * `LAMEDUCK_WARN_NATS_INTERNALS` — the nats.js in use lacks the internals the fence reads (another version):
 * the consumer is stopped with nats.js's own `drain()` / `stop()`, and messages the server had sent when it
 * stopped may be dropped by the client (JetStream: redelivered only after `ack_wait`).
 */
export const NATS_WARNING_CODES = ['LAMEDUCK_WARN_NATS_INTERNALS'] as const

/** What the drain of one consumer did, once its task has run (`consumer.stats`). */
export interface NatsConsumeStats {
  /** `'core'`: a core NATS subscription; `'jetstream'`: a JetStream pull consumer. */
  kind: 'core' | 'jetstream'
  /** Handlers running when the drain started. */
  inFlightAtStart: number
  /** Handlers that resolved during the drain (JetStream, `ack: 'auto'`: their messages acked). */
  handled: number
  /** Handlers that threw during the drain (JetStream: nak'ed with `retryDelayMs`). */
  failed: number
  /**
   * JetStream: messages nak'ed for immediate redelivery by the drain — those delivered to the process but not
   * handled by the budget's end (or at once, with `buffered: 'nak'`), and those of abandoned handlers.
   */
  naked: number
  /** Core: messages delivered to the process but never given to the handler: lost (core NATS does not redeliver). */
  dropped: number
  /** Handlers still running when the budget ran out, their AbortSignal aborted long before. */
  abandoned: number
  /**
   * Whether the fence was used: the server confirmed it had stopped sending before the consumer stopped
   * reading (without the nats.js internals it needs, nats.js's own `drain()`/`stop()` was used).
   */
  fenced: boolean
  /** Whether the server confirmed (a PING answered) every ack and nak the drain sent, before the deadline. */
  confirmed: boolean
  /** Whether the connection was down when the drain ended. */
  disconnected: boolean
  /** How long the drain took, by the coordinator's clock. */
  durationMs: number
}

/**
 * Core NATS messages that had reached the process were not handled by the end of the consumer's budget:
 * `stats.dropped` were never given to the handler, `stats.abandoned` handlers were still running. Core NATS
 * has no redelivery: they are lost. Code `LAMEDUCK_ERR_NATS_MESSAGES_LOST`.
 */
export class NatsMessagesLostError extends LameduckError {
  declare readonly code: NatsErrorCode

  constructor(readonly stats: NatsConsumeStats) {
    super(
      'LAMEDUCK_ERR_NATS_MESSAGES_LOST',
      `${stats.dropped} core NATS message(s) delivered to this process were never handled and ${stats.abandoned} ` +
        `handler(s) were still running when the budget ran out: core NATS does not redeliver, they are lost ` +
        `(${stats.handled} handled during the drain)`,
    )
  }
}

/**
 * JetStream handlers were still running when the consumer's budget ran out, although their AbortSignal had
 * aborted `abortGraceMs` before: their messages were nak'ed (redelivered at once), so a handler that goes on
 * to finish processes its message a second time elsewhere. Code `LAMEDUCK_ERR_NATS_HANDLERS_ABANDONED`.
 */
export class NatsHandlersAbandonedError extends LameduckError {
  declare readonly code: NatsErrorCode

  constructor(readonly stats: NatsConsumeStats) {
    super(
      'LAMEDUCK_ERR_NATS_HANDLERS_ABANDONED',
      `${stats.abandoned} JetStream handler(s) ignored their AbortSignal and were still running when the budget ` +
        `ran out: their messages were nak'ed and will be redelivered, and may be processed twice ` +
        `(${stats.handled} handled, ${stats.naked} nak'ed in all)`,
    )
  }
}

/**
 * The server did not confirm the consumer's last acks and naks by the deadline — the connection was down
 * (`stats.disconnected`) or too slow. JetStream messages whose ack or nak did not arrive are redelivered only
 * after the consumer's `ack_wait`; for core NATS, messages the server sent while the consumer stopped may be
 * lost. Code `LAMEDUCK_ERR_NATS_UNCONFIRMED`.
 */
export class NatsUnconfirmedError extends LameduckError {
  declare readonly code: NatsErrorCode

  constructor(readonly stats: NatsConsumeStats) {
    super(
      'LAMEDUCK_ERR_NATS_UNCONFIRMED',
      `${stats.disconnected ? 'the NATS server was unreachable' : 'the NATS server did not answer in time'}: ` +
        `the consumer's ${stats.handled + stats.failed + stats.naked} ack(s)/nak(s) of the drain were not ` +
        `confirmed${stats.disconnected ? '' : ' by the deadline'}${stats.kind === 'jetstream' ? '; JetStream redelivers those it did not get only after ack_wait' : ''}`,
    )
  }
}

/**
 * `drain()` of the connection had not completed by the task's deadline (the server unreachable, when
 * `disconnected`): the connection was closed, and what it still held — publishes, acks, naks, replies — may
 * not have reached the server. Code `LAMEDUCK_ERR_NATS_DRAIN_TIMEOUT`.
 */
export class NatsDrainTimeoutError extends LameduckError {
  declare readonly code: NatsErrorCode

  constructor(
    readonly budgetMs: number,
    readonly disconnected: boolean,
  ) {
    super(
      'LAMEDUCK_ERR_NATS_DRAIN_TIMEOUT',
      `drain() of the NATS connection did not complete within ${Math.round(budgetMs)} ms` +
        `${disconnected ? ' (the server was unreachable)' : ''}; the connection was closed, and what it had not ` +
        'flushed (publishes, acks, replies) may be lost',
    )
  }
}

/**
 * `drain()` of the connection failed: nats.js rejected it — typically because the connection was down
 * (`disconnected`: the server unreachable). The connection was closed, and what it had not flushed may be lost.
 * Code `LAMEDUCK_ERR_NATS_DRAIN_FAILED`.
 */
export class NatsDrainFailedError extends LameduckError {
  declare readonly code: NatsErrorCode

  constructor(
    cause: unknown,
    readonly disconnected: boolean,
  ) {
    super(
      'LAMEDUCK_ERR_NATS_DRAIN_FAILED',
      `drain() of the NATS connection failed${disconnected ? ' (the server was unreachable)' : ''}: ` +
        `${errorMessage(cause)}; the connection was closed, and what it had ` +
        'not flushed (publishes, acks, replies) may be lost',
      { cause },
    )
  }
}

/** A code of {@link NATS_ERROR_CODES}. */
export type NatsErrorCode = (typeof NATS_ERROR_CODES)[number]
/** A code of {@link NATS_WARNING_CODES}. */
export type NatsWarningCode = (typeof NATS_WARNING_CODES)[number]
