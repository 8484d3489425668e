import { describeValue } from '@lameduck/core'
import { InvalidCacheValueError } from './errors.js'

/** Turns a value into the text its sink stores. Throwing refuses the value (the `set()` throws). */
export type Encoder<V> = (value: V, key: string) => string

/**
 * The default encoder: strings as they are, everything else as JSON — but only what JSON gives back
 * unchanged. `JSON.stringify` changes values without a word: NaN and ±Infinity become `null`, a Date a
 * string, a Map or a Set `{}`, `undefined` and functions vanish from objects (and become `null` in
 * arrays), a class instance loses its class. Stored that way, the value read back is not the value
 * written, so such values are refused at `set()` instead, naming where they are.
 *
 * The one change let through, on purpose: `-0` is stored as `0` (what every JSON store does; a `set()`
 * throwing for the result of `Math.round(-0.4)` would be worse than the lost sign).
 */
export function encodeJson(key: string, value: unknown): string {
  if (typeof value === 'string') return value
  const problem = unfaithful(value, [], new Set())
  if (problem !== undefined) throw new InvalidCacheValueError(key, problem)
  return JSON.stringify(value)
}

/** Runs a user-supplied encoder: it must return a string; what it throws refuses the value. */
export function encodeWith<V>(encoder: Encoder<V>, key: string, value: V): string {
  let encoded: unknown
  try {
    encoded = encoder(value, key)
  } catch (error) {
    throw new InvalidCacheValueError(key, `the encode option threw: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    })
  }
  if (typeof encoded !== 'string')
    throw new InvalidCacheValueError(
      key,
      `the encode option returned ${describeValue(encoded)}; it must return a string`,
    )
  return encoded
}

/**
 * Why JSON would not give `value` back as it is, or undefined when it would. `path` is where `value` sits,
 * pushed and popped on the way down (copied only into the message of a refusal).
 */
function unfaithful(value: unknown, path: (string | number)[], ancestors: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : `${where(path)} is ${value}, which JSON would store as null; store a finite number or a string`
    case 'bigint':
      return `${where(path)} is a bigint (${value}n), which JSON cannot hold; store it as a string (String(value))`
    case 'undefined':
      return path.length === 0
        ? 'the value is undefined, which JSON cannot hold; to forget the key, delete() it'
        : `${where(path)} is undefined, which JSON would ${dropped(path)}; leave the property out or use null`
    case 'function':
    case 'symbol':
      return path.length === 0
        ? `the value is a ${typeof value}, which JSON cannot hold`
        : `${where(path)} is a ${typeof value}, which JSON would ${dropped(path)}`
  }
  if (value === null) return undefined
  const object = value as object
  if (ancestors.has(object))
    return `${where(path)} refers back to an object that contains it (a cycle), which JSON cannot hold`
  if (Array.isArray(object)) {
    if (Object.getPrototypeOf(object) !== Array.prototype)
      return `${where(path)} is ${instanceName(object)} (an Array subclass), which JSON would store as a plain array`
    const array = object as unknown[]
    ancestors.add(array)
    for (let i = 0; i < array.length; i++) {
      path.push(i)
      if (!(i in array)) return `${where(path)} is a hole in a sparse array, which JSON would store as null`
      const problem = unfaithful(array[i], path, ancestors)
      if (problem !== undefined) return problem
      path.pop()
    }
    ancestors.delete(array)
    if (Object.keys(array).length !== array.length)
      return `${where(path)} is an array with named properties, which JSON would drop`
    return undefined
  }
  const prototype = Object.getPrototypeOf(object)
  if (prototype !== Object.prototype && prototype !== null)
    return `${where(path)} is ${instanceName(object)}, which JSON would store as ${jsonOf(object)}; convert it first, or give the cache an encode option`
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function')
    return `${where(path)} has a toJSON method, so JSON would store what it returns instead; convert it first`
  for (const symbol of Object.getOwnPropertySymbols(object))
    if (Object.prototype.propertyIsEnumerable.call(object, symbol))
      return `${where(path)} has a symbol-keyed property (${String(symbol)}), which JSON would drop`
  ancestors.add(object)
  for (const key of Object.keys(object)) {
    path.push(key)
    const problem = unfaithful((object as Record<string, unknown>)[key], path, ancestors)
    if (problem !== undefined) return problem
    path.pop()
  }
  ancestors.delete(object)
  return undefined
}

/** `the value`, `value.a.b`, `value.items[2]`, `value["a b"]`. */
function where(path: (string | number)[]): string {
  if (path.length === 0) return 'the value'
  let out = 'value'
  for (const part of path)
    out +=
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `.${part}`
          : `[${JSON.stringify(part)}]`
  return out
}

function dropped(path: (string | number)[]): string {
  return typeof path[path.length - 1] === 'number' ? 'store as null' : 'drop'
}

function instanceName(object: object): string {
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name
  if (typeof name !== 'string' || name === '') return 'an object with a custom prototype'
  return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`
}

/** What JSON would make of a non-plain object, for the message. */
function jsonOf(object: object): string {
  if (object instanceof Date) return 'a string'
  if (object instanceof Number || object instanceof String || object instanceof Boolean) return 'a primitive'
  if (ArrayBuffer.isView(object)) return 'an object of numbered properties'
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') return 'what its toJSON() returns'
  if (object instanceof Map || object instanceof Set || object instanceof WeakMap || object instanceof WeakSet)
    return '{}'
  if (object instanceof RegExp || object instanceof Error || object instanceof Promise) return '{}'
  return 'a plain object (its class and prototype lost)'
}
