import { InvalidOptionError, type Phase, type Registration, type Shutdown, type TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  describeArgument,
  registerTask,
  requireShutdown,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { CACHE_DEFAULTS } from './defaults.js'

/** The options of `flushTask`: the shared task options. */
export interface FlushTaskOptions extends AdapterTaskOptions {
  /**
   * The task's name in the report and the logs. Default: {@link CACHE_DEFAULTS}`.flushTask.name`, numbered
   * when taken (`flush-task-2`, …); a name you choose that is taken throws `DuplicateTaskError`.
   */
  name?: string
  /** When the task runs. Default: {@link CACHE_DEFAULTS}`.flushTask.phase`. */
  phase?: Phase
  /** The task's budget. Default: {@link CACHE_DEFAULTS}`.flushTask.timeoutMs`. */
  timeoutMs?: number
  /** Whether the task's failure makes the exit code non-zero. Default: {@link CACHE_DEFAULTS}`.flushTask.critical`. */
  critical?: boolean
}

const WHERE = 'flushTask'

/**
 * Registers a task (in the `flush` phase, by default) for a cache or buffer you own: `fn` gets the task's AbortSignal (aborted
 * when the budget runs out) and context. Returns its {@link Registration}. The same `fn` given twice to
 * one coordinator throws `DuplicateRegistrationError` (it would flush the same buffer twice).
 */
export function flushTask(
  shutdown: Shutdown,
  fn: (signal: AbortSignal, context: TaskContext) => unknown,
  options: FlushTaskOptions = {},
): Registration {
  requireShutdown(WHERE, shutdown, 'flushTask(shutdown, fn, options?)')
  if (typeof fn !== 'function')
    throw new InvalidOptionError(
      `fn argument of ${WHERE}`,
      `expected the function that flushes, (signal, context) => …; got ${describeArgument(fn)}` +
        (typeof fn === 'string' ? ' (the name is an option now: flushTask(shutdown, fn, { name }))' : ''),
    )
  checkOptions(WHERE, options, TASK_OPTION_KEYS)
  return registerTask(shutdown, {
    where: WHERE,
    task: taskOptions(WHERE, options, CACHE_DEFAULTS.flushTask),
    run: fn,
    resource: fn,
    resourceLabel: 'this function',
  })
}
