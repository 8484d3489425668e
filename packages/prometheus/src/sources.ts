/**
 * What the metrics read from adapters. Structural, so this package needs none of them: pass the objects
 * `drainHttpServer`, `createWriteBehind`, `createLocks` and `createAdvisoryLocks` return.
 */
export interface HttpSource {
  connections(): number
  inFlight(): number
  readonly stats: { forced: number } | undefined
}

export interface CacheSource {
  readonly name: string
  readonly dirty: number
  stats(): { flushed: number; failedWrites: number }
}

export interface LockSource {
  /**
   * Locks held right now: a count (`createLocks` from @lameduck/redis) or the held locks themselves
   * (`createAdvisoryLocks` from @lameduck/pg), counted by length.
   */
  held(): number | readonly unknown[]
}

export interface Sources {
  /** HTTP drains by server name. */
  http?: Record<string, HttpSource>
  /** Write-behind caches (labelled by their name). */
  caches?: CacheSource[]
  /** Lock sets by store name, e.g. `{ redis: locks, postgres: advisory }`. */
  locks?: Record<string, LockSource>
}
