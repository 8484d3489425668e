import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'

/** What {@link hookErrorLogger} writes: the event, the task and the hook it names. */
export interface HookErrorLog {
  /** The log event: `'<adapter>.<hook>.error'`, e.g. `'http.onDrain.error'`. */
  event: string
  /** The task's name, as in the report. */
  task: string
  /** The hook's option name: `'onDrain'`. */
  hook: string
  /** What goes on regardless, for the message. Default: `'the drain'`. */
  goesOn?: string
}

/**
 * The `onError` of `callHook` for an adapter that logs a failing hook and goes on: each error is a
 * warning `{ event, task, error }` (`error`: its message), `<task>: <hook> threw: <error>; the drain goes on`.
 */
export function hookErrorLogger(logger: Logger, log: HookErrorLog): (error: unknown) => void {
  const goesOn = log.goesOn ?? 'the drain'
  return (error) => {
    const message = errorMessage(error)
    logger.warn(
      { event: log.event, task: log.task, error: message },
      `${log.task}: ${log.hook} threw: ${message}; ${goesOn} goes on`,
    )
  }
}
