/**
 * Every default of `@lameduck/nats`, in one place: the code reads them from here, the README states them (a
 * test checks it) and the TSDoc of each option refers to them instead of repeating the number.
 */
export const NATS_DEFAULTS = {
  /** The task `consume` registers: stops one subscription or JetStream consumer and finishes its messages. */
  consume: {
    /** Further consumers get `nats-consumer-2`, `nats-consumer-3`, … */
    name: 'nats-consumer',
    /** Consumers stop taking new work where HTTP servers do, once readiness has been down for the drain delay. */
    phase: 'drain',
    /** In-flight and buffered messages get this long; what is left is nak'ed (JetStream) or counted lost (core). */
    timeoutMs: 10_000,
    /** Messages lost (core) or handlers abandoned make the exit code non-zero. */
    critical: true,
  },
  /** The task `drainNats` registers: `drain()` of the connection, bounded, then `close()`. */
  drain: {
    name: 'nats-connection',
    /**
     * After flush and release, whose tasks may still publish through the connection: it is the last thing the
     * service talks to NATS through.
     */
    phase: 'close',
    /** A drain flushes what is buffered and takes one round trip per subscription: seconds are plenty. */
    timeoutMs: 5_000,
    /** Publishes, acks and naks the drain could not flush are lost with the connection. */
    critical: true,
  },
  /** Messages handled at the same time, as nats.js's own `for await` loop does: one at a time. */
  concurrency: 1,
  /**
   * JetStream: `'auto'` acks a message once its handler resolved (a handler may still ack, nak or term it
   * itself: the first answer counts, as in nats.js); `'manual'` leaves acks to the handler.
   */
  ack: 'auto',
  /** JetStream: a message whose handler threw is nak'ed with this delay (0: redelivered at once). */
  retryDelayMs: 0,
  /**
   * JetStream, at the drain: `'process'` — the messages already delivered to this process are handled here
   * within the budget, the rest nak'ed at its end; `'nak'` — they are nak'ed at once (another replica gets them
   * immediately) and only the handlers already running are waited for.
   */
  buffered: 'process',
  /**
   * Kept at the end of the consumer's budget: the handlers' AbortSignal aborts this long before the deadline,
   * and what has not settled by then is nak'ed (JetStream) or counted lost (core).
   */
  abortGraceMs: 1_000,
  /**
   * How often the drain looks at the consumer's loop (idle? connection down?): the drain ends at most this
   * much later than the last message.
   */
  pollMs: 5,
  /**
   * JetStream, at the drain: a pull request still open is waited for (filled, or expired by the server) before the
   * inbox is unsubscribed, unless no message has arrived for this long — the stream is quiet, and a delivery at
   * the instant of the UNSUB (which the server would drop and leave unacknowledged until `ack_wait`) is unlikely.
   */
  quietMs: 100,
} as const
