import { describeValue, InvalidOptionError, isShutdown, type Shutdown } from '@lameduck/core'
import type { Registry } from 'prom-client'

// One definition for every package, in core.
export { boolean, nonEmptyString, orDefault } from '@lameduck/core'

// Validation for JavaScript callers, who get no type check. The rules are core's: `undefined` means "use the
// default" and nothing else does (`null` is refused like any other wrong type), a wrong duration is
// LAMEDUCK_ERR_INVALID_DURATION, a wrong type or impossible value LAMEDUCK_ERR_INVALID_OPTION, and every
// message names the option, the function it was given to and what was passed.

/** An object that is not an array (class instances included). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The coordinator argument: what `createShutdown()` returns. Checked by shape (a copy of core from another
 * install is as good), on the members the adapters use.
 */
export function requireShutdown(where: string, value: unknown): Shutdown {
  if (!isShutdown(value))
    throw new InvalidOptionError(
      `shutdown argument of ${where}`,
      `expected the coordinator createShutdown() returns; got ${describeValue(value)}`,
    )
  return value
}

/** A prom-client `Registry` (checked by shape: another copy of prom-client's is as good). */
export function registry(option: string, value: unknown): Registry {
  const r = value as Record<string, unknown> | null
  if (
    r === null ||
    typeof r !== 'object' ||
    typeof r.metrics !== 'function' ||
    typeof r.registerMetric !== 'function' ||
    typeof r.removeSingleMetric !== 'function'
  )
    throw new InvalidOptionError(option, `expected a prom-client Registry; got ${describeValue(value)}`)
  return value as Registry
}
