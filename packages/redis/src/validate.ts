import { describeValue, InvalidOptionError, isShutdown, requireDuration, type Shutdown } from '@lameduck/core'
import type { RedisClient } from './scripts.js'

// One definition for every package, in core.
export { boolean, nonEmptyString, orDefault } from '@lameduck/core'

// Validation for JavaScript callers, who get no type check. The rules are core's: `undefined` means "use the
// default" and nothing else does (`null` is refused like any other wrong type), a wrong duration is
// LAMEDUCK_ERR_INVALID_DURATION, a wrong type or impossible value LAMEDUCK_ERR_INVALID_OPTION, and every
// message names the option, the function it was given to and what was passed.

/**
 * A duration greater than zero (and, like every duration, at most 2³¹−1 ms: core's `requireDuration`),
 * rounded up to a whole millisecond (Redis takes whole ms). */
export function positiveDuration(option: string, value: unknown): number {
  const ms = requireDuration(option, value)
  if (ms === 0) throw new InvalidOptionError(option, 'expected a duration greater than 0 ms; got 0')
  return Math.ceil(ms)
}

export function positiveInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new InvalidOptionError(option, `expected a positive integer; got ${describeValue(value)}`)
  return value
}

export function string(option: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidOptionError(option, `expected a string; got ${describeValue(value)}`)
  return value
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
        (isRedisClient(value) ? ` (the coordinator comes first: ${where}(shutdown, client, options?))` : ''),
    )
  return value
}

/**
 * An ioredis client (`Redis` or `Cluster`) with the methods `where` calls. Checked by shape: ioredis clients
 * carry a `status` string and `defineCommand`, which node-redis clients, pools and plain objects do not.
 */
export function requireRedisClient(
  where: string,
  argument: string,
  value: unknown,
  methods: readonly string[],
): RedisClient {
  if (
    !isRedisClient(value) ||
    methods.some((method) => typeof (value as Record<string, unknown>)[method] !== 'function')
  )
    throw new InvalidOptionError(
      `${argument} argument of ${where}`,
      `expected an ioredis client (new Redis(…) or new Cluster(…)); got ${describeArgument(value)}`,
    )
  return value as RedisClient
}

function isRedisClient(value: unknown): boolean {
  const c = value as Record<string, unknown> | null
  return c !== null && typeof c === 'object' && typeof c.status === 'string' && typeof c.defineCommand === 'function'
}

/** `describeValue`, but naming the objects a caller is likely to pass by mistake (their class names say little). */
function describeArgument(value: unknown): string {
  if (isRedisClient(value)) return 'an ioredis client'
  const v = value as Record<string, unknown> | null
  if (v !== null && typeof v === 'object' && typeof v.addTask === 'function' && typeof v.shutdown === 'function')
    return 'a lameduck coordinator'
  return describeValue(value)
}
