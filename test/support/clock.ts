// A coordinator clock that runs `factor` times faster than the wall clock, for tests that an adapter's
// budget and retry decisions follow the coordinator's clock (`createShutdown({ clock })`): a wait of 2 s
// on it takes 2 s / factor. An adapter timing itself by Date.now() or a bare setTimeout runs `factor`
// times too slow for it, and its task overruns the budget the coordinator gave it.
import type { Clock } from '@lameduck/core'

export function fastClock(factor: number): Clock {
  const start = Date.now()
  return {
    now: () => start + (Date.now() - start) * factor,
    setTimeout: (callback, ms) => setTimeout(callback, ms / factor),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  }
}

/**
 * The system clock, but for the jumps a test makes: after `jump(60_000)`, 60 s have passed at once for the
 * coordinator (its timers still fire by the wall clock). For tests that a wait ends when the coordinator's
 * clock says so, not when Date.now() does.
 */
export function jumpingClock(): Clock & { jump(ms: number): void } {
  let jumped = 0
  return {
    now: () => Date.now() + jumped,
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    jump(ms) {
      jumped += ms
    },
  }
}

/**
 * A broken clock for the watchdog's tests: the first timer (the watchdog, armed at the trigger) and 0 ms
 * ones (a 0 ms drain delay) fire, every later timer is dropped — so a hung task is never cut, and only the
 * watchdog can end the run. (Every task is raced against a timer that expires before the deadline, so with
 * a working clock a run always finishes first.)
 */
export function watchdogOnlyClock(): Clock {
  let armed = false
  return {
    now: () => Date.now(),
    setTimeout: (callback, ms) => {
      if (armed && ms > 0) return undefined
      armed = true
      return setTimeout(callback, ms)
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  }
}
