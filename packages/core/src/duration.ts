import { InvalidDurationError } from './errors.js'

/** Validates a duration in milliseconds: finite and non-negative, or a configuration error. */
export function requireDuration(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidDurationError(option, value)
  return value
}
