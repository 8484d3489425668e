import type { Shutdown, TaskContext } from '@lameduck/core'
import { CACHE_DEFAULTS } from './defaults.js'

/**
 * Registers a `flush`-phase task for a cache or buffer you own: `fn` gets the task's AbortSignal (aborted
 * when the budget runs out) and context. Returns the unregister function.
 */
export function flushTask(
  shutdown: Shutdown,
  name: string,
  fn: (signal: AbortSignal, context: TaskContext) => unknown,
  options: { timeoutMs?: number; critical?: boolean } = {},
): () => void {
  return shutdown.addTask({
    name,
    phase: 'flush',
    timeoutMs: options.timeoutMs ?? CACHE_DEFAULTS.timeoutMs,
    critical: options.critical ?? true,
    run: fn,
  })
}
