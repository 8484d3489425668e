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
