import { InvalidDurationError } from '@lameduck/core'

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

/**
 * Parses a duration: a number of milliseconds (`500`), or a number with a unit (`500ms`, `8s`, `1.5s`, `2m`).
 * Throws `InvalidDurationError` (code `LAMEDUCK_ERR_INVALID_DURATION`) otherwise.
 */
export function parseDuration(option: string, value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
    throw new InvalidDurationError(option, value)
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(String(value))
  if (!match) throw new InvalidDurationError(option, value)
  return Number(match[1]) * (units[match[2] ?? 'ms'] ?? 1)
}
