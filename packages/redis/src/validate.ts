import { InvalidDurationError, InvalidOptionError } from '@lameduck/core'

/** A finite, non-negative number of milliseconds, or a configuration error. */
export function duration(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidDurationError(option, value)
  return value
}

/** A finite number of milliseconds greater than zero, rounded up to a whole millisecond. */
export function positiveDuration(option: string, value: unknown): number {
  const ms = duration(option, value)
  if (ms === 0) throw new InvalidOptionError(option, 'expected a duration greater than 0 ms')
  return Math.ceil(ms)
}

export function positiveInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new InvalidOptionError(option, 'expected a positive integer')
  return value
}

export function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(option, 'expected a non-empty string')
  return value
}

export function optionalString(option: string, value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw new InvalidOptionError(option, 'expected a string')
  return value
}

export function optionalBoolean(option: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidOptionError(option, 'expected a boolean')
  return value
}

export function optionalSignal(option: string, value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal))
    throw new InvalidOptionError(option, 'expected an AbortSignal')
  return value
}

export function objectOrUndefined(option: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object'))
    throw new InvalidOptionError(option, 'expected an options object')
}
