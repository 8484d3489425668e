import type { Clock } from '@lameduck/core'

/** A clock whose time moves only when told: timers fire in order as `advance()` passes them. */
export function manualClock(start = 1_000_000): Clock & { advance(ms: number): void; pending(): number } {
  let now = start
  let id = 0
  const timers = new Map<number, { at: number; callback: () => void }>()
  return {
    now: () => now,
    setTimeout(callback, ms) {
      timers.set(++id, { at: now + ms, callback })
      return id
    },
    clearTimeout(handle) {
      timers.delete(handle as number)
    },
    advance(ms) {
      const until = now + ms
      for (;;) {
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0]
        if (next === undefined || next[1].at > until) break
        timers.delete(next[0])
        now = next[1].at
        next[1].callback()
      }
      now = until
    },
    pending: () => timers.size,
  }
}
