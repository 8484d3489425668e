import { InvalidDurationError } from '@lameduck/core'
import { duration, MAX_TIMER_MS } from '@lameduck/core/adapter'

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

const EXPECTED = 'a duration: milliseconds (500) or a number with ms, s or m (500ms, 8s, 1.5s, 2m)'

/**
 * Parses a duration: a number of milliseconds (`500`), or a number with a unit (`500ms`, `8s`, `1.5s`, `2m`),
 * from 0 to `MAX_TIMER_MS` (2³¹−1 ms, the longest delay Node's timers hold: a longer one would fire at once).
 * The bounds are the adapter kit's `duration()`, so a wrong one is `InvalidDurationError`
 * (`LAMEDUCK_ERR_INVALID_DURATION`) as in every lameduck package, naming the option and what was written —
 * a wrong type (`null` included) too.
 */
export function parseDuration(option: string, value: unknown): number {
  if (typeof value === 'number') return duration(option, value)
  if (typeof value !== 'string') throw new InvalidDurationError(option, value, EXPECTED)
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(value)
  if (!match) throw new InvalidDurationError(option, value, EXPECTED)
  const ms = Number(match[1]) * (units[match[2] ?? 'ms'] ?? 1)
  try {
    return duration(option, ms)
  } catch {
    // The kit's bound (a string can only be too long), but the message names what the user wrote, not its ms.
    throw new InvalidDurationError(
      option,
      value,
      `at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest delay Node's timers can hold)`,
    )
  }
}
