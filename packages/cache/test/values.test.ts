import { createWriteBehind, InvalidCacheValueError, type Sink } from '@lameduck/cache'
import { describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

// No silent change of values: what JSON would not give back as it is is refused at set(), saying what
// and where — or handled by the application's own encoder. Never stored as something else.

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

function cacheWith(options = {}) {
  const store = new Map<string, string>()
  const sink: Sink = {
    write: async (batch) => {
      for (const { key, value } of batch) store.set(key, value)
    },
  }
  const shutdown = testShutdown()
  return { cache: createWriteBehind<unknown>(shutdown, { sink, flushIntervalMs: 0, ...options }), store }
}

const sparse: unknown[] = []
sparse[2] = 1
const withSymbol = { a: 1, [Symbol('tag')]: 2 }
const withName = Object.assign([1, 2], { label: 'x' })
const cyclic: Record<string, unknown> = { list: [] }
;(cyclic.list as unknown[]).push(cyclic)

const refused: [string, unknown, RegExp][] = [
  ['NaN', Number.NaN, /the value is NaN, which JSON would store as null/],
  ['Infinity', Number.POSITIVE_INFINITY, /the value is Infinity, which JSON would store as null/],
  ['-Infinity', Number.NEGATIVE_INFINITY, /the value is -Infinity/],
  ['undefined', undefined, /the value is undefined, which JSON cannot hold/],
  ['a bigint', 10n, /the value is a bigint \(10n\)/],
  ['a function', () => 1, /the value is a function/],
  ['a symbol', Symbol('s'), /the value is a symbol/],
  ['a Date', new Date(0), /the value is a Date, which JSON would store as a string/],
  ['a Map', new Map([[1, 2]]), /the value is a Map, which JSON would store as \{\}/],
  ['a Set', new Set([1]), /the value is a Set, which JSON would store as \{\}/],
  ['a class instance', new Point(1, 2), /the value is a Point, which JSON would store as a plain object/],
  ['a boxed number', Object(1), /the value is a Number, which JSON would store as a primitive/],
  ['a typed array', new Uint8Array(2), /the value is a Uint8Array/],
  ['a RegExp', /x/, /the value is a RegExp/],
  ['a Date inside an object', { user: { seen: new Date(0) } }, /value\.user\.seen is a Date/],
  ['NaN inside an array', { scores: [1, Number.NaN] }, /value\.scores\[1\] is NaN/],
  ['undefined as a property', { a: 1, b: undefined }, /value\.b is undefined, which JSON would drop/],
  ['undefined in an array', [1, undefined], /value\[1\] is undefined, which JSON would store as null/],
  ['a function as a property', { f() {} }, /value\.f is a function, which JSON would drop/],
  ['a Map under an odd key', { 'a b': new Map() }, /value\["a b"\] is a Map/],
  ['a sparse array', sparse, /value\[0\] is a hole in a sparse array/],
  ['a symbol key', withSymbol, /has a symbol-keyed property \(Symbol\(tag\)\)/],
  ['an array with a named property', withName, /an array with named properties/],
  ['a toJSON method', { toJSON: () => 'other' }, /has a toJSON method/],
  ['a cycle through an array', cyclic, /value\.list\[0\] refers back to an object that contains it \(a cycle\)/],
]

describe('values JSON would change are refused at set()', () => {
  for (const [what, value, message] of refused) {
    it(`${what}`, () => {
      const { cache } = cacheWith()
      cache.set('k', 'before')
      let error: unknown
      try {
        cache.set('k', value)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidCacheValueError)
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_CACHE_VALUE', key: 'k' })
      expect((error as Error).message).toMatch(/^cannot cache "k": /)
      expect((error as Error).message).toMatch(message)
      // Nothing changed: the previous value is still the one held, and the one to be written.
      expect(cache.get('k')).toBe('before')
    })
  }

  it('what JSON gives back as it is goes through: nested plain objects, arrays, null, null-prototype objects', async () => {
    const { cache, store } = cacheWith()
    const bare = Object.assign(Object.create(null), { a: 1 })
    cache.set('plain', { a: [1, 'two', null, { b: true }], c: -1.5 })
    cache.set('bare', bare)
    cache.set('null', null)
    // The one documented change: -0 is stored as 0.
    cache.set('zero', -0)
    await cache.flush()
    expect(Object.fromEntries(store)).toEqual({
      plain: '{"a":[1,"two",null,{"b":true}],"c":-1.5}',
      bare: '{"a":1}',
      null: 'null',
      zero: '0',
    })
  })

  it('keys must be strings: a number key would reach the sink as another key', () => {
    const { cache } = cacheWith()
    expect(() => cache.set(1 as unknown as string, 'x')).toThrow(/cache keys are strings; got 1/)
  })
})

describe('the encode option', () => {
  it('stores what the application chose, Dates included, and refuses what it throws for', async () => {
    const { cache, store } = cacheWith({
      encode: (value: unknown) => {
        if (value instanceof Date) return `date:${value.toISOString()}`
        if (typeof value === 'bigint') throw new Error('no bigints here')
        return JSON.stringify(value)
      },
    })
    cache.set('when', new Date(0))
    expect(() => cache.set('n', 10n)).toThrow(/cannot cache "n": the encode option threw: no bigints here/)
    await cache.flush()
    expect(store.get('when')).toBe('date:1970-01-01T00:00:00.000Z')
    expect(cache.get('when')).toEqual(new Date(0))
  })

  it('an encoder that returns something else than a string is refused, naming what it returned', () => {
    const { cache } = cacheWith({ encode: () => undefined })
    expect(() => cache.set('k', 1)).toThrow(/the encode option returned undefined; it must return a string/)
  })
})
