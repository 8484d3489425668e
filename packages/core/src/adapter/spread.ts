import { systemClock } from '../clock.js'
import { requireDuration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import type { TimingOptions } from './timing.js'

// Telling thousands of long-lived connections to go elsewhere at the same instant moves the whole load onto
// the remaining replicas in the same millisecond: reconnect storms, every client's handshake, TLS and
// session set-up at once. Spread evenly, n items over a window arrive at n / window — the lowest peak
// that window allows. Evenly, not at random: a random schedule bunches (its peak per 100 ms bucket is well
// above the mean), and an even one is what a test and a benchmark can check.

/** Options of {@link spread}. */
export interface SpreadOptions extends TimingOptions {
  /**
   * The window, in ms on the clock: item `i` of `n` is handed to `fn` at `start + i × windowMs / n` — the
   * first at once, the last `windowMs / n` before the window ends. `0`: all at once, in one go.
   */
  windowMs: number
}

/** What {@link spread} resolves to. */
export interface SpreadResult<T> {
  /** How many items `fn` was called for. */
  done: number
  /** The items `fn` was not called for, in order: the signal aborted first (empty otherwise). */
  left: T[]
}

/**
 * Calls `fn(item, index)` for each of `items` (taken as they are when called), spread evenly over
 * `windowMs` on the clock (`shutdown.clock`, or the task context's), in order. One timer at a time,
 * whatever the number of items: every item due by the time it fires is handed over in that turn (timers
 * step in whole ms, so with more items than ms in the window they go in batches, none before it is due).
 *
 * Resolves once every item was handed over — `fn`'s result is not waited for (collect its promises to wait
 * for them) — or as soon as `signal` aborts, with the items left (at once if it already has). Never
 * rejects because of the signal; a throw of `fn` rejects, and the items after it are not handed over.
 */
export function spread<T>(
  items: Iterable<T>,
  options: SpreadOptions,
  fn: (item: T, index: number) => unknown,
): Promise<SpreadResult<T>> {
  const { clock = systemClock, signal } = options
  const windowMs = requireDuration('windowMs of spread', options.windowMs)
  if (typeof fn !== 'function') throw new InvalidOptionError('fn of spread', 'expected a function')
  const all = [...items]
  const n = all.length
  const start = clock.now()
  // Epoch ms on the clock at which item i is due.
  const dueAt = (i: number) => start + (windowMs * i) / n
  let next = 0
  return new Promise<SpreadResult<T>>((resolve, reject) => {
    let timer: unknown
    const finish = () => {
      signal?.removeEventListener('abort', onAbort)
      resolve({ done: next, left: all.slice(next) })
    }
    const onAbort = () => {
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      finish()
    }
    const turn = () => {
      timer = undefined
      const now = clock.now()
      try {
        while (next < n && dueAt(next) <= now) {
          const i = next++
          fn(all[i] as T, i)
          // fn may abort the signal (a deadline it noticed): the rest is left.
          if (signal?.aborted) return
        }
      } catch (error) {
        signal?.removeEventListener('abort', onAbort)
        reject(error)
        return
      }
      if (next >= n) return finish()
      timer = clock.setTimeout(turn, Math.max(1, Math.ceil(dueAt(next) - now)))
    }
    if (signal?.aborted) return resolve({ done: 0, left: all })
    signal?.addEventListener('abort', onAbort, { once: true })
    turn()
  })
}

/**
 * The window to spread over: `spreadMs`, shortened so that `reserveMs` remain between its end and `until`
 * (the task's `stopAt()`) for the last items to be acted on — a close handshake, a flush — and never
 * negative; whole ms.
 */
export function spreadWindow(
  spreadMs: number,
  { until, reserveMs, clock }: { until: number; reserveMs: number; clock: { now(): number } },
): number {
  return Math.round(Math.max(0, Math.min(spreadMs, until - clock.now() - reserveMs)))
}
