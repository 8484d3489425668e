import { requireDuration } from '../duration.js'
import { describeValue, InvalidDurationError, InvalidOptionError, UnknownPhaseError } from '../errors.js'
import { isPhase, PHASES, type Phase } from '../phases.js'
import type { Shutdown } from '../shutdown.js'
import { isShutdown, nonEmptyString, orDefault } from '../validate.js'

// The option validators every adapter uses, so that one mistake gives one error code everywhere:
// a wrong duration is LAMEDUCK_ERR_INVALID_DURATION, an unknown phase LAMEDUCK_ERR_UNKNOWN_PHASE, an unknown
// key LAMEDUCK_ERR_UNKNOWN_OPTION (checkOptions), every other wrong type or impossible value
// LAMEDUCK_ERR_INVALID_OPTION. `undefined` means "use the default" and nothing else does: `null` is refused
// like any other wrong type. `option` is the name shown in the message, e.g. `'timeoutMs of closePool'`.

/**
 * A duration in ms (see `requireDuration`), or `fallback` when `undefined`. `{ positive: true }` refuses 0
 * too, for a duration that cannot be zero (a TTL, a retry delay) — the same code, LAMEDUCK_ERR_INVALID_DURATION.
 */
export function duration(option: string, value: unknown, fallback?: number, rule: { positive?: boolean } = {}): number {
  const ms = requireDuration(option, value === undefined && fallback !== undefined ? fallback : value)
  if (rule.positive === true && ms === 0) throw new InvalidDurationError(option, ms, 'greater than 0 ms')
  return ms
}

/** A string, `''` included (a key prefix), or `fallback` when `undefined`. See also {@link name}. */
export function string(option: string, value: unknown, fallback?: string): string {
  const v = value === undefined && fallback !== undefined ? fallback : value
  if (typeof v !== 'string') throw new InvalidOptionError(option, `expected a string; got ${describeValue(v)}`)
  return v
}

/**
 * An integer from `min` (default 0) to `max` (default unbounded), or `fallback` when `undefined`.
 * `infinite: true` also takes `Infinity`, for a limit that may be lifted (`maxEntries: Infinity`).
 */
export function count(
  option: string,
  value: unknown,
  fallback?: number,
  range: { min?: number; max?: number; infinite?: boolean } = {},
): number {
  const { min = 0, max = Number.POSITIVE_INFINITY, infinite = false } = range
  const v = value === undefined && fallback !== undefined ? fallback : value
  if (infinite && v === Number.POSITIVE_INFINITY) return v
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidOptionError(
      option,
      `expected an integer ${max === Number.POSITIVE_INFINITY ? `of at least ${min}` : `from ${min} to ${max}`}` +
        `${infinite ? ' (or Infinity)' : ''}; got ${describeValue(v)}`,
    )
  return v
}

/** A task or resource name: a string with something besides white space. */
export function name(option: string, value: unknown, fallback?: string): string {
  const v = value === undefined && fallback !== undefined ? fallback : value
  if (typeof v !== 'string' || v.trim() === '')
    throw new InvalidOptionError(option, `expected a non-empty name; got ${describeValue(v)}`)
  return v
}

/** A phase name (`UnknownPhaseError` otherwise), or `fallback` when `undefined`. */
export function phase(option: string, value: unknown, fallback: Phase): Phase {
  const v = orDefault(value, fallback)
  if (!isPhase(v)) throw new UnknownPhaseError(v, PHASES, option)
  return v
}

/** One of `choices`, or `fallback` when `undefined`. */
export function oneOf<const C extends readonly (string | number | boolean)[]>(
  option: string,
  value: unknown,
  choices: C,
  fallback?: C[number],
): C[number] {
  const v = value === undefined && fallback !== undefined ? fallback : value
  if (!choices.includes(v as C[number]))
    throw new InvalidOptionError(
      option,
      `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}; got ${describeValue(v)}`,
    )
  return v as C[number]
}

/** `undefined`, or an AbortSignal. */
export function optionalSignal(option: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined
  const s = value as Partial<AbortSignal> | null
  if (s === null || typeof s !== 'object' || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function')
    throw new InvalidOptionError(option, `expected an AbortSignal; got ${describeValue(value)}`)
  return value as AbortSignal
}

/** `undefined`, or a function. */
export function optionalFunction<T>(option: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new InvalidOptionError(option, `expected a function; got ${describeValue(value)}`)
  return value
}

/** `undefined`, or a plain object (an environment, a map of paths, labels). */
export function optionalObject<T>(option: string, value: T | undefined): T | undefined {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw new InvalidOptionError(option, `expected an object; got ${describeValue(value)}`)
  return value
}

export { nonEmptyString }

/**
 * The coordinator argument of an adapter function: what `createShutdown()` returns, checked by shape (a copy
 * of core from another install is as good). The message names what was passed instead, e.g. "got an
 * http.Server (the coordinator comes first: drainHttpServer(shutdown, server, options?))".
 *
 * @param usage the call as it should read, for the hint: `'drainHttpServer(shutdown, server, options?)'`
 */
export function requireShutdown(where: string, value: unknown, usage = `${where}(shutdown, options?)`): Shutdown {
  if (isShutdown(value)) return value
  const object = value !== null && (typeof value === 'object' || typeof value === 'function')
  throw new InvalidOptionError(
    `shutdown argument of ${where}`,
    `expected the coordinator createShutdown() returns; got ${describeArgument(value)}` +
      (object || value === undefined ? ` (the coordinator comes first: ${usage})` : ''),
  )
}

/**
 * A client argument (a pool, a Redis client, a registry): an object with every method in `methods`.
 * The message names the kind expected, what was passed and the first method missing.
 */
export function requireClient<T>(option: string, value: unknown, kind: string, methods: readonly string[]): T {
  const v = value as Record<string, unknown> | null
  if (v === null || (typeof v !== 'object' && typeof v !== 'function'))
    throw new InvalidOptionError(option, `expected ${kind}; got ${describeArgument(value)}`)
  const missing = methods.find((m) => typeof v[m] !== 'function')
  if (missing !== undefined)
    throw new InvalidOptionError(
      option,
      `expected ${kind}; got ${describeArgument(value)}, which has no ${missing}() method`,
    )
  return value as T
}

/**
 * `describeValue`, naming the objects a caller is likely to pass by mistake: a coordinator, an
 * application with its own `listen()` (Express, Koa, Fastify), a server, an HTTP request.
 */
export function describeArgument(value: unknown): string {
  if (isShutdown(value)) return 'a lameduck coordinator'
  const v = value as Record<string, unknown> | null
  const listens = v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.listen === 'function'
  if (typeof value === 'function' && listens) return 'a function with a listen() method (an Express app?)'
  if (v !== null && typeof v === 'object') {
    if (listens && typeof v.close === 'function' && typeof v.address === 'function') return describeValue(v)
    if (listens) return `${describeValue(v)} with a listen() method (an application, not its server)`
    if (typeof v.method === 'string' && typeof v.url === 'string' && typeof v.headers === 'object')
      return 'an HTTP request'
  }
  return describeValue(value)
}

/**
 * What releasing a lock or lease resolves to, for every adapter that holds one (redis, pg, and the etcd
 * and other lock adapters to come): `released` — it was still held and is given back; `lost` — it was no
 * longer held (expired, taken over, its session gone) by the time of the release.
 */
export type ReleaseOutcome = 'released' | 'lost'
