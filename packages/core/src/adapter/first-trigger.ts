import type { Shutdown } from '../shutdown.js'

/**
 * Calls `listener` once, at the first trigger of `shutdown` (its state leaving `running`) — at once when the
 * shutdown has started already: where an adapter stops taking new work (a lock, a key on a lease). Returns
 * the function that takes the listener off, for the adapter's `remove()`.
 */
export function onFirstTrigger(shutdown: Shutdown, listener: () => void): () => void {
  if (shutdown.state !== 'running') {
    listener()
    return () => {}
  }
  const off = shutdown.on('state', ({ to }) => {
    if (to === 'running') return
    off()
    listener()
  })
  return off
}

/**
 * An AbortSignal that aborts at the first trigger of a shutdown, for an adapter's state that must stop taking
 * new work then (every lock adapter: its `LockRetryOwner.stopping`). Made with the state, before the
 * registration; `follow(shutdown)` once the registration succeeded, `detach()` from its `onRemove`.
 */
export class TriggerStop {
  readonly #controller = new AbortController()
  #off = () => {}

  /** Aborts `signal` at the first trigger of `shutdown` (at once when it has started already). */
  follow(shutdown: Shutdown): void {
    this.#off = onFirstTrigger(shutdown, () => this.#controller.abort())
  }

  /** No longer follows the coordinator (the registration was removed): `signal` does not abort at its run. */
  detach(): void {
    this.#off()
  }

  /** Aborts at the first trigger of the shutdown followed. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }
}
