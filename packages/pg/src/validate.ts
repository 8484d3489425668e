import { describeValue, InvalidOptionError, isShutdown, requireDuration, type Shutdown } from '@lameduck/core'
import type { Pool } from 'pg'

// One definition for every package, in core.
export { boolean, nonEmptyString, orDefault } from '@lameduck/core'

// Validation for JavaScript callers, who get no type check. The rules are core's: `undefined` means "use the
// default" and nothing else does (`null` is refused like any other wrong type), a wrong duration is
// LAMEDUCK_ERR_INVALID_DURATION, a wrong type or impossible value LAMEDUCK_ERR_INVALID_OPTION, and every
// message names the option, the function it was given to and what was passed.

/** A duration greater than zero (and, like every duration, at most 2³¹−1 ms: core's `requireDuration`). */
export function positiveDuration(option: string, value: unknown): number {
  const ms = requireDuration(option, value)
  if (ms === 0) throw new InvalidOptionError(option, 'expected a duration greater than 0 ms; got 0')
  return ms
}

export function optionalSignal(option: string, value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal))
    throw new InvalidOptionError(option, `expected an AbortSignal; got ${describeValue(value)}`)
  return value
}

/**
 * The coordinator argument: what `createShutdown()` returns. Checked by shape (a copy of core from another
 * install is as good), on the members the adapters use.
 */
export function requireShutdown(where: string, value: unknown): Shutdown {
  if (!isShutdown(value))
    throw new InvalidOptionError(
      `shutdown argument of ${where}`,
      `expected the coordinator createShutdown() returns; got ${describeArgument(value)}` +
        (isPool(value) ? ` (the coordinator comes first: ${where}(shutdown, pool, options?))` : ''),
    )
  return value
}

/**
 * A `pg.Pool` (or a pool with its interface): `connect`, `query`, `end` and the `totalCount` a `pg.Client`
 * lacks — a client has `connect` and `query` too, but no connection to hand out.
 */
export function isPool(value: unknown): value is Pool {
  const p = value as Record<string, unknown> | null
  return (
    p !== null &&
    typeof p === 'object' &&
    typeof p.connect === 'function' &&
    typeof p.query === 'function' &&
    typeof p.end === 'function' &&
    typeof p.totalCount === 'number'
  )
}

/** The pool argument of `where`, or an `InvalidOptionError` naming what was passed. */
export function requirePool(where: string, value: unknown, why = ''): Pool {
  if (!isPool(value)) throw poolError(where, value, why)
  return value
}

export function poolError(where: string, value: unknown, why = ''): InvalidOptionError {
  return new InvalidOptionError(
    `pool argument of ${where}`,
    `expected a pg Pool (new pg.Pool(…))${why}; got ${describeArgument(value)}`,
  )
}

/** `describeValue`, but naming the objects a caller is likely to pass by mistake (their class names say little). */
export function describeArgument(value: unknown): string {
  const v = value as Record<string, unknown> | null
  if (v !== null && typeof v === 'object') {
    if (isPool(v)) return 'a pg Pool'
    if (typeof v.connect === 'function' && typeof v.query === 'function' && typeof v.escapeIdentifier === 'function')
      return 'a pg Client'
    if (typeof v.addTask === 'function' && typeof v.shutdown === 'function') return 'a lameduck coordinator'
  }
  return describeValue(value)
}
