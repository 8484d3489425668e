import type { Sink, SinkEntry } from '@lameduck/cache'
import { abortable, InvalidOptionError } from '@lameduck/core'
import type { Pool } from 'pg'
import { PG_DEFAULTS } from './defaults.js'
import { quoteIdentifier, quoteTableName } from './identifiers.js'

/** Column types `pgSink` can write values to. */
export type SinkValueType = 'text' | 'jsonb' | 'json'

const VALUE_TYPES: readonly SinkValueType[] = ['text', 'jsonb', 'json']

/** Options of {@link pgSink}. */
export interface PgSinkOptions {
  /** The table, `table` or `schema.table`; each part an identifier (see below), double-quoted. */
  table: string
  /** The key column: must have a unique constraint (or be the primary key), of a text type. */
  keyColumn: string
  /** The value column. */
  valueColumn: string
  /**
   * Type the values are cast to: `'text'`, or `'jsonb'` / `'json'` (each value must then be JSON text).
   * Default: `'text'`.
   */
  valueType?: SinkValueType
}

/**
 * A write-behind `Sink` for `@lameduck/cache` that upserts each batch into a table with ONE statement:
 *
 * ```sql
 * INSERT INTO "schema"."table" ("key", "value")
 * SELECT k, v FROM unnest($1::text[], $2::text[]) AS t(k, v)
 * ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value"
 * ```
 *
 * Identifiers are validated when the sink is created (`InvalidOptionError` otherwise) and always
 * double-quoted — so they are case-sensitive; keys and values only ever travel as parameters. Duplicate
 * keys within a batch are merged, the last value winning (PostgreSQL would refuse to update a row twice).
 * An aborted `signal` rejects with its reason at once; a statement already sent may still complete.
 */
export function pgSink(pool: Pool, options: PgSinkOptions): Sink {
  if (!pool || typeof (pool as { query?: unknown }).query !== 'function')
    throw new InvalidOptionError('pool', 'expected a pg Pool')
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'expected an object')
  const table = quoteTableName('table', options.table)
  const key = quoteIdentifier('keyColumn', options.keyColumn)
  const value = quoteIdentifier('valueColumn', options.valueColumn)
  const valueType = options.valueType ?? PG_DEFAULTS.valueType
  if (!VALUE_TYPES.includes(valueType))
    throw new InvalidOptionError('valueType', `expected one of ${VALUE_TYPES.join(', ')}, got ${String(valueType)}`)
  if (key === value) throw new InvalidOptionError('valueColumn', 'must differ from keyColumn')
  const text =
    `INSERT INTO ${table} (${key}, ${value}) ` +
    `SELECT k, v FROM unnest($1::text[], $2::${valueType}[]) AS t(k, v) ` +
    `ON CONFLICT (${key}) DO UPDATE SET ${value} = EXCLUDED.${value}`

  return {
    async write(batch: readonly SinkEntry[], signal: AbortSignal): Promise<void> {
      signal?.throwIfAborted()
      const latest = new Map<string, string>()
      for (const entry of batch) latest.set(entry.key, entry.value)
      if (latest.size === 0) return
      const query = pool.query(text, [[...latest.keys()], [...latest.values()]])
      await (signal ? abortable(query, signal) : query)
    },
  }
}
