/**
 * The phases of a shutdown, in the order they run. Tasks inside one phase run concurrently;
 * a phase starts only when every task of the previous one has settled or been abandoned.
 *
 * - `readiness` — built in: readiness fails while the service keeps serving for `drainDelayMs`.
 * - `drain` — stop taking new work (HTTP servers, consumers, schedulers).
 * - `flush` — write out what lives only in memory (write-behind caches, batchers).
 * - `release` — give back what others wait for (locks, leases, registrations).
 * - `close` — close clients and pools.
 * - `report` — last words: final metrics push, log flush.
 */
export const PHASES = ['readiness', 'drain', 'flush', 'release', 'close', 'report'] as const

/** One of {@link PHASES}. */
export type Phase = (typeof PHASES)[number]

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value)
}
