const stopped = Symbol('stopped')

/**
 * Waits for `work`, but no later than `stopAt` (epoch ms) and no longer than `signal` stays unaborted.
 * Resolves `true` when `work` settled in time (its rejection is left to the caller), `false` otherwise.
 */
export async function settledBefore(work: Promise<unknown>, stopAt: number, signal?: AbortSignal): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const stop = new Promise<typeof stopped>((resolve) => {
    if (Number.isFinite(stopAt)) timer = setTimeout(() => resolve(stopped), Math.max(0, stopAt - Date.now()))
    if (signal) {
      onAbort = () => resolve(stopped)
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    }
  })
  try {
    const settled = work.then(
      () => true,
      () => true,
    )
    return (await Promise.race([settled, stop])) === true
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Sleeps `ms`, or rejects as soon as one of `signals` aborts, with the error `reasonFor` gives for it.
 */
export function sleep(ms: number, signals: readonly AbortSignal[], reasonFor: (signal: AbortSignal) => unknown) {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      for (const signal of signals) signal.removeEventListener('abort', onAbort)
    }
    const onAbort = (event: Event) => {
      cleanup()
      reject(reasonFor(event.target as AbortSignal))
    }
    const timer = setTimeout(() => {
      cleanup()
      resolve()
    }, ms)
    for (const signal of signals) {
      if (signal.aborted) {
        cleanup()
        reject(reasonFor(signal))
        return
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
  })
}
