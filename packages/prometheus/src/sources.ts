import { describeValue, InvalidOptionError } from '@lameduck/core'
import { isPlainObject } from './validate.js'

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

/**
 * Checks that every source has what the metrics read, at configuration time: a wrong object would otherwise
 * only drop its series from every scrape, without a word.
 */
export function checkSources(where: string, sources: Sources): void {
  const each = (
    key: keyof Sources,
    what: string,
    fits: (source: Record<string, unknown>) => boolean,
    entries: [string, unknown][],
  ) => {
    for (const [name, source] of entries)
      if (!isPlainObject(source) || !fits(source)) fail(`${key}${name} of ${where}`, what, source)
  }
  if (sources.http !== undefined) {
    if (!isPlainObject(sources.http))
      fail(`http of ${where}`, 'an object of HTTP drains by server name, e.g. { app: drain }', sources.http)
    each(
      'http',
      'what drainHttpServer returns (connections(), inFlight(), stats)',
      (s) => typeof s.connections === 'function' && typeof s.inFlight === 'function',
      Object.entries(sources.http).map(([name, source]) => [`.${name}`, source]),
    )
  }
  if (sources.caches !== undefined) {
    if (!Array.isArray(sources.caches))
      fail(`caches of ${where}`, 'an array of the caches createWriteBehind returns', sources.caches)
    each(
      'caches',
      'what createWriteBehind returns (name, dirty, stats())',
      (s) => typeof s.name === 'string' && typeof s.stats === 'function',
      sources.caches.map((source, index) => [`[${index}]`, source]),
    )
  }
  if (sources.locks !== undefined) {
    if (!isPlainObject(sources.locks))
      fail(`locks of ${where}`, 'an object of lock sets by store name, e.g. { redis: locks }', sources.locks)
    each(
      'locks',
      'what createLocks or createAdvisoryLocks returns (held())',
      (s) => typeof s.held === 'function',
      Object.entries(sources.locks).map(([name, source]) => [`.${name}`, source]),
    )
  }
}

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, `expected ${expected}; got ${describeValue(value)}`)
}
