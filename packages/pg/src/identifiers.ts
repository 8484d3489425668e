import { describeValue, InvalidOptionError } from '@lameduck/core'

/**
 * What an SQL identifier given in an option may look like: a letter or `_`, then letters, digits, `_`
 * or `$`, at most 63 characters (PostgreSQL's limit). Everything else is rejected, quotes included.
 */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** Validates one identifier and returns it double-quoted (case is then preserved, as written). */
export function quoteIdentifier(option: string, value: unknown): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value))
    throw new InvalidOptionError(
      option,
      `expected an SQL identifier matching ${IDENTIFIER} (letters, digits, _ and $, at most 63); got ${describeValue(value)}`,
    )
  return `"${value}"`
}

/** Validates `table` or `schema.table` and returns it quoted: `"schema"."table"`. */
export function quoteTableName(option: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new InvalidOptionError(option, `expected "table" or "schema.table"; got ${describeValue(value)}`)
  const parts = value.split('.')
  if (parts.length > 2)
    throw new InvalidOptionError(option, `expected "table" or "schema.table"; got ${describeValue(value)}`)
  return parts.map((part) => quoteIdentifier(option, part)).join('.')
}
