import { InvalidOptionError } from '@lameduck/core'
import { describeArgument, requireClient } from '@lameduck/core/adapter'

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
   * Locks held right now: a count, or the held locks themselves (counted by length), whichever the lock
   * adapter returns.
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

/** Each kind of source: how it is given, what each one must have, and the label its series get. */
const KINDS = {
  http: {
    given: 'an object of HTTP drains by server name, e.g. { app: drain }',
    each: 'what drainHttpServer returns (connections(), inFlight(), stats)',
    methods: ['connections', 'inFlight'],
  },
  caches: {
    given: 'an array of the caches createWriteBehind returns',
    each: 'what createWriteBehind returns (name, dirty, stats())',
    methods: ['stats'],
  },
  locks: {
    given: 'an object of lock sets by store name, e.g. { redis: locks }',
    each: 'what createLocks or createAdvisoryLocks returns (held())',
    methods: ['held'],
  },
} as const

/** The sources after checking: each kind as `[label value, source]` pairs (empty when not given). */
export interface CheckedSources {
  http: [server: string, source: HttpSource][]
  caches: [cache: string, source: CacheSource][]
  locks: [store: string, source: LockSource][]
}

/**
 * Checks that every source has what the metrics read, at configuration time: a wrong object would otherwise
 * only drop its series from every scrape, without a word.
 */
export function checkSources(where: string, sources: Sources): CheckedSources {
  const checked = (kind: keyof Sources): [string, unknown][] => {
    const given: unknown = sources[kind]
    if (given === undefined) return []
    const array = Array.isArray(given)
    if (given === null || typeof given !== 'object' || array !== (kind === 'caches'))
      throw new InvalidOptionError(
        `${kind} of ${where}`,
        `expected ${KINDS[kind].given}; got ${describeArgument(given)}`,
      )
    const entries: [string, unknown][] = array
      ? given.map((source, index) => [`[${index}]`, source])
      : Object.entries(given).map(([label, source]) => [`.${label}`, source])
    return entries.map(([at, source]) => {
      const option = `${kind}${at} of ${where}`
      requireClient(option, source, KINDS[kind].each, KINDS[kind].methods)
      const label = array ? (source as { name?: unknown }).name : at.slice(1)
      if (typeof label !== 'string')
        throw new InvalidOptionError(option, `expected ${KINDS[kind].each}; got an object without a name`)
      return [label, source]
    })
  }
  return {
    http: checked('http') as CheckedSources['http'],
    caches: checked('caches') as CheckedSources['caches'],
    locks: checked('locks') as CheckedSources['locks'],
  }
}
