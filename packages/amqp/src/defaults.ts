/**
 * Every default of `@lameduck/amqp`, in one place: the code reads them from here, the README states them (a
 * test checks it) and the TSDoc refers to them instead of repeating the numbers.
 */
export const AMQP_DEFAULTS = {
  /**
   * The task `createConsumers` registers per channel: cancels its consumers, lets the deliveries in flight
   * finish, acks them, nack-requeues the rest. In the `drain` phase, after the drain delay, with the other
   * sources of new work; 10 s covers handlers of a few seconds with room to spare.
   */
  consumers: { name: 'amqp-consumers', phase: 'drain', timeoutMs: 10_000, critical: true },
  /**
   * How long before the consumers task's stop time the handlers' AbortSignal aborts: the time a handler has
   * to notice, stop, and settle (a rejection is nack-requeued at once). What is still running at the stop
   * time is nack-requeued all the same.
   */
  abortBeforeMs: 1_000,
  /**
   * What a handler's failure (a rejection or a throw that is not the drain's abort) does to its delivery:
   * `'requeue'` — `nack(requeue=true)`, amqplib's own default for `nack`; `'reject'` — `nack(requeue=false)`,
   * to the queue's dead-letter exchange if it has one, dropped otherwise.
   */
  failures: 'requeue',
  /**
   * The task `closeAmqp` registers per connection: publisher confirms awaited, channels closed, then the
   * connection. In the `close` phase, so that what the `flush` and `release` phases publish is confirmed too.
   */
  close: { name: 'amqp-close', phase: 'close', timeoutMs: 5_000, critical: true },
  /**
   * Kept at the end of the close task's budget for closing the channels and the connection: the wait for
   * publisher confirms ends this long before the stop time.
   */
  closeMs: 1_000,
} as const
