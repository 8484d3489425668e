/**
 * Every default of `@lameduck/pino`, in one place: the README's option table is checked against it by a
 * test.
 */
export const PINO_DEFAULTS = {
  /** The exit flush's name, in the log; numbered (`pino-2`) for a second logger on the same coordinator. */
  name: 'pino',
  /**
   * Its budget, reserved out of the grace period (`plan().exitFlushMs`). 10,000 buffered lines take some
   * 50–200 ms through a pino/file worker on a laptop; the rest is room for a slow disk.
   */
  timeoutMs: 1_000,
  /**
   * Close the transport once it has taken everything: its worker ends each destination, and a destination
   * has written all it holds only once it closes — `flush()` alone does not reach pino's `targets`, nor any
   * destination with thread-stream 3 (pino 9). What pino's exit hook would do synchronously inside
   * `process.exit`, done inside the budget. Lines logged after it go to stderr.
   */
  close: true,
  /**
   * Kept out of the budget's end for a stalled transport: the time to terminate its worker, so that pino's
   * exit hook finds it gone instead of blocking `process.exit` for up to 10 s.
   */
  terminateMs: 100,
  /** How often the buffers are looked at while waiting (on the coordinator's clock, a referenced timer). */
  pollMs: 5,
} as const
