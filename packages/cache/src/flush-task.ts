import { describeValue, InvalidOptionError, type Registration, type Shutdown, type TaskContext } from '@lameduck/core'
import { requireCoordinator, resolveFlushTaskOptions } from './options.js'

/**
 * Registers a `flush`-phase task for a cache or buffer you own: `fn` gets the task's AbortSignal (aborted
 * when the budget runs out) and context. Returns its registration (`remove()`).
 */
export function flushTask(
  shutdown: Shutdown,
  name: string,
  fn: (signal: AbortSignal, context: TaskContext) => unknown,
  options: { timeoutMs?: number; critical?: boolean } = {},
): Registration {
  requireCoordinator('flushTask', shutdown)
  if (typeof name !== 'string' || name.trim() === '')
    throw new InvalidOptionError(
      'flushTask(shutdown, name, …)',
      `expected a non-empty name, got ${describeValue(name)}`,
    )
  if (typeof fn !== 'function')
    throw new InvalidOptionError('flushTask(shutdown, name, fn)', `expected a function, got ${describeValue(fn)}`)
  const { timeoutMs, critical } = resolveFlushTaskOptions(options)
  return shutdown.addTask({ name, phase: 'flush', timeoutMs, critical, run: fn })
}
