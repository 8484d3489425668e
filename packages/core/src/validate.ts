import { describeValue, InvalidOptionError, UnknownOptionError } from './errors.js'
import type { Shutdown } from './shutdown.js'

/**
 * Checks that `options` is a plain options object (or `undefined`) whose every key is one of `known`.
 * For JavaScript callers, who get no type check: `drainDelay` instead of `drainDelayMs` would otherwise be
 * ignored and the default used without a word. Throws `InvalidOptionError` for a non-object (`null`
 * included) and `UnknownOptionError` with the closest known key for an unknown one.
 *
 * @param where the function the options were given to, for the message (e.g. `'createShutdown'`)
 */
export function checkOptions(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidOptionError(`${where} options`, 'expected an options object')
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new UnknownOptionError(where, key, closest(key, known), known)
  }
}

/** The known name nearest to `name` (case-insensitive edit distance, or a unit-less prefix), if any is close. */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const c = candidate.toLowerCase()
    // `timeout` → `timeoutMs`, `drainDelay` → `drainDelayMs`: the unit left off.
    if (c.startsWith(lower) && lower.length >= 3) {
      const distance = (c.length - lower.length) / 4
      if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
      continue
    }
    const distance = editDistance(lower, c)
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance]
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] as number
}

/** The option's value, or `fallback` when it is `undefined` — never for `null`, which is then validated (and refused). */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value
}

export function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new InvalidOptionError(option, `expected a non-empty string; got ${describeValue(value)}`)
  return value
}

export function boolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidOptionError(option, `expected true or false; got ${describeValue(value)}`)
  return value
}

/**
 * The error of an unknown command-line flag (`--gracee`) of a lameduck CLI: names the nearest known flag
 * (`did you mean "--grace"?`) and lists them all. `flags` are the known names, without `--`.
 */
export function unknownFlag(command: string, flag: string, flags: readonly string[]): UnknownOptionError {
  const near = closest(flag, flags)
  const known = flags.map((k) => `--${k}`)
  return new UnknownOptionError(command, `--${flag}`, near === undefined ? undefined : `--${near}`, known)
}

/**
 * Whether `value` is what `createShutdown()` returns, checked by shape (a copy of core from another install
 * is as good) on the members adapters use. For an adapter's check of its coordinator argument.
 */
export function isShutdown(value: unknown): value is Shutdown {
  if (!hasMethods(value, ['addTask', 'on', 'warn', 'shutdown', 'holdExit', 'isReady'])) return false
  const { config, logger } = value as Partial<Shutdown>
  return typeof config === 'object' && config !== null && typeof logger === 'object' && logger !== null
}

/**
 * Whether `value` is an object (or a function) with a function under each of `methods`: the duck-typed
 * check of a client, an application or a coordinator from another copy of its package.
 */
export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false
  const v = value as Record<string, unknown>
  return methods.every((method) => typeof v[method] === 'function')
}
