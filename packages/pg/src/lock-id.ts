import { createHash } from 'node:crypto'
import { describeValue, InvalidOptionError } from '@lameduck/core'

const MIN = -(2n ** 63n)
const MAX = 2n ** 63n - 1n

/**
 * The `bigint` key of PostgreSQL's advisory-lock functions for `key`:
 *
 * - a `bigint` or a safe integer `number` is used as is (it must fit a signed 64-bit integer);
 * - a string is hashed: the first 8 bytes of its SHA-256 (UTF-8), read as a big-endian signed 64-bit
 *   integer — `BigInt.asIntN(64, BigInt('0x' + sha256hex(key).slice(0, 16)))`, which in SQL is
 *   `('x' || left(encode(sha256(convert_to(key, 'UTF8')), 'hex'), 16))::bit(64)::bigint`.
 *
 * Stable across processes, versions and languages. The string `'42'` and the number `42` are different locks.
 */
export function advisoryLockId(key: string | number | bigint): bigint {
  if (typeof key === 'string') return createHash('sha256').update(key, 'utf8').digest().readBigInt64BE(0)
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new InvalidOptionError('key', `expected a safe integer; got ${key}`)
    return BigInt(key)
  }
  if (typeof key === 'bigint') {
    if (key < MIN || key > MAX) throw new InvalidOptionError('key', `expected a signed 64-bit integer; got ${key}n`)
    return key
  }
  throw new InvalidOptionError('key', `expected a string, a number or a bigint; got ${describeValue(key)}`)
}
