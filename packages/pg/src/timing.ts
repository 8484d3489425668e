/** Resolves after `ms`; rejects with `signal.reason` when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export type Settled<T> = { done: true; value: T } | { done: false }

/**
 * Waits for `promise` until epoch ms `cutoff`. Rejections propagate; a promise still pending at the
 * cutoff gives `{ done: false }` (and its later rejection is ignored).
 */
export function settleBefore<T>(promise: Promise<T>, cutoff: number): Promise<Settled<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ done: false }), Math.max(0, cutoff - Date.now()))
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve({ done: true, value })
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/** Polls `check` every `everyMs` until it is true (→ true) or epoch ms `cutoff` passes (→ false). */
export function waitFor(check: () => boolean, cutoff: number, everyMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const tick = () => {
      if (check()) resolve(true)
      else if (Date.now() >= cutoff) resolve(false)
      else setTimeout(tick, Math.max(1, Math.min(everyMs, cutoff - Date.now())))
    }
    tick()
  })
}
