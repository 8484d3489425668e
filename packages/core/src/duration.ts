import { InvalidDurationError } from './errors.js'

/**
 * The longest delay Node's timers can hold: 2³¹−1 ms (about 24.8 days). A longer one is not an error in
 * Node — it is replaced by 1 ms with a warning — so a grace period of 30 days would end the run at once.
 */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * Validates a duration in milliseconds: a finite number from 0 to {@link MAX_TIMER_MS}, or an
 * `InvalidDurationError` naming the option and what was passed. `null` is refused like any non-number
 * (only `undefined` means "use the default", and callers check that before calling this).
 */
export function requireDuration(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidDurationError(option, value)
  if (value > MAX_TIMER_MS)
    throw new InvalidDurationError(
      option,
      value,
      `at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest delay Node's timers can hold)`,
    )
  return value
}
