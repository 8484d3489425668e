/** Time as the coordinator sees it. Injectable so tests can drive budgets without waiting. */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export function sleep(clock: Clock, ms: number): { promise: Promise<void>; cancel(): void } {
  let handle: unknown
  let done!: () => void
  const promise = new Promise<void>((resolve) => {
    done = resolve
    handle = clock.setTimeout(resolve, Math.max(0, ms))
  })
  return {
    promise,
    cancel() {
      clock.clearTimeout(handle)
      done()
    },
  }
}
