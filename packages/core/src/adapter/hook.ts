/**
 * Calls an application's hook (`onDrain`, …) with `args`, without awaiting it: a throw, or the rejection
 * of a promise it returns, goes to `onError` (the adapter logs it and goes on) — never out of the task, and
 * never to the process as an unhandled rejection, which the coordinator records as a run error (exit code 1).
 * The hook is the application's; a bug in it must not stop what the adapter is doing.
 */
export function callHook<A extends unknown[]>(
  hook: ((...args: A) => unknown) | undefined,
  args: A,
  onError: (error: unknown) => void,
): void {
  if (hook === undefined) return
  try {
    const returned: unknown = hook(...args)
    if (isThenable(returned)) returned.then(undefined, onError)
  } catch (error) {
    onError(error)
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
