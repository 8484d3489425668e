import { type Clock, systemClock } from '../clock.js'

// Timing for adapters, driven by the coordinator's clock (`shutdown.clock`), so that a test clock or a
// fake one drives an adapter's budget decisions as it drives the coordinator's. One behaviour on abort
// for each helper, stated in its doc: none of them rejects because a signal aborted.

/** What every timing helper accepts. */
export interface TimingOptions {
  /** The clock to read and to set timers on. Default: the system clock (use `shutdown.clock`). */
  clock?: Clock
  /** Stops the wait early. */
  signal?: AbortSignal
}

/**
 * Waits `ms` on the clock. Resolves `true` when the time has passed, `false` as soon as `signal` aborts
 * (at once if it already has). Never rejects.
 */
export function sleep(ms: number, options: TimingOptions = {}): Promise<boolean> {
  const { clock = systemClock, signal } = options
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(timer)
      resolve(false)
    }
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort)
        resolve(true)
      },
      Math.max(0, ms),
    )
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** {@link settleBy}'s answer: the work's value, or why the wait ended first. */
export type Settled<T> = { done: true; value: T } | { done: false; why: 'deadline' | 'aborted' }

/**
 * Waits for `work` until epoch ms `until` on the clock (`Infinity`: no limit) or until `signal` aborts.
 * Resolves `{ done: true, value }` when it settled in time; `{ done: false, why }` otherwise — the work
 * goes on unobserved, and its later rejection is swallowed. A rejection in time rejects.
 */
export function settleBy<T>(work: PromiseLike<T>, until: number, options: TimingOptions = {}): Promise<Settled<T>> {
  const { clock = systemClock, signal } = options
  const promise = Promise.resolve(work)
  return new Promise<Settled<T>>((resolve, reject) => {
    let timer: unknown
    const finish = () => {
      if (timer !== undefined) clock.clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const stop = (why: 'deadline' | 'aborted') => {
      finish()
      promise.catch(() => {})
      resolve({ done: false, why })
    }
    const onAbort = () => stop('aborted')
    if (signal?.aborted) return stop('aborted')
    // Work already settled still counts at a deadline already past: its callbacks run before any timer.
    if (Number.isFinite(until)) timer = clock.setTimeout(() => stop('deadline'), Math.max(0, until - clock.now()))
    signal?.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        finish()
        resolve({ done: true, value })
      },
      (error: unknown) => {
        finish()
        reject(error)
      },
    )
  })
}

/** Options of {@link poll}. */
export interface PollOptions extends TimingOptions {
  /** How often to call `check`. */
  everyMs: number
  /** Epoch ms on the clock after which to give up (`Infinity`: never). */
  until: number
}

/**
 * Calls `check` now and then every `everyMs` until it returns `true` (→ `true`), epoch ms `until` passes
 * or `signal` aborts (→ `false`). `check` is called one last time at `until`. A throw of `check` rejects.
 */
export function poll(check: () => boolean, options: PollOptions): Promise<boolean> {
  const { clock = systemClock, signal, everyMs, until } = options
  return new Promise((resolve, reject) => {
    let timer: unknown
    const onAbort = () => {
      clock.clearTimeout(timer)
      resolve(false)
    }
    const tick = () => {
      let ok: boolean
      try {
        ok = check()
      } catch (error) {
        signal?.removeEventListener('abort', onAbort)
        reject(error)
        return
      }
      const left = until - clock.now()
      if (ok || left <= 0 || signal?.aborted) {
        signal?.removeEventListener('abort', onAbort)
        resolve(ok)
        return
      }
      timer = clock.setTimeout(tick, Math.max(1, Math.min(everyMs, left)))
    }
    if (signal?.aborted) return resolve(false)
    signal?.addEventListener('abort', onAbort, { once: true })
    tick()
  })
}

/** What {@link linkSignals} returns. */
export interface LinkedSignal {
  readonly signal: AbortSignal
  /** Removes the listeners on the sources and the timer (the linked signal stays as it is). Idempotent. */
  dispose(): void
  [Symbol.dispose](): void
}

/**
 * An AbortSignal that aborts when any of `signals` does (with that signal's reason) or at epoch ms
 * `until` on the clock (with `reason()`, default a `TimeoutError` DOMException). Unlike
 * `AbortSignal.any`, its listeners and timer are removed by `dispose()`, so a long-lived source (the
 * task's signal, a client's) does not collect one listener per call.
 */
export function linkSignals(
  signals: readonly (AbortSignal | undefined)[],
  options: { until?: number; clock?: Clock; reason?: () => unknown } = {},
): LinkedSignal {
  const { clock = systemClock, until = Number.POSITIVE_INFINITY } = options
  const controller = new AbortController()
  const sources = signals.filter((s): s is AbortSignal => s !== undefined)
  let timer: unknown
  const listeners: [AbortSignal, () => void][] = []
  const dispose = () => {
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = undefined
    for (const [source, listener] of listeners.splice(0)) source.removeEventListener('abort', listener)
  }
  const abort = (reason: unknown) => {
    dispose()
    controller.abort(reason)
  }
  const already = sources.find((s) => s.aborted)
  if (already) abort(already.reason)
  else {
    for (const source of sources) {
      const listener = () => abort(source.reason)
      listeners.push([source, listener])
      source.addEventListener('abort', listener, { once: true })
    }
    if (Number.isFinite(until)) {
      const reason = options.reason ?? (() => new DOMException('the time given ran out', 'TimeoutError'))
      timer = clock.setTimeout(() => abort(reason()), Math.max(0, until - clock.now()))
    }
  }
  return { signal: controller.signal, dispose, [Symbol.dispose]: dispose }
}
