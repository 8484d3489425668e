import { InvalidCacheValueError } from './errors.js'

/** Strings are stored as they are; everything else as JSON. */
export function encode(key: string, value: unknown): string {
  if (typeof value === 'string') return value
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (error) {
    throw new InvalidCacheValueError(key, `it cannot be encoded as JSON (${(error as Error).message})`, {
      cause: error,
    })
  }
  if (json === undefined) throw new InvalidCacheValueError(key, `a ${typeof value} cannot be encoded as JSON`)
  return json
}
