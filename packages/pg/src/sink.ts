import type { Sink, SinkEntry } from '@lameduck/cache'
import { InvalidOptionError } from '@lameduck/core'
import { abortable, checkOptions, oneOf, requireClient } from '@lameduck/core/adapter'
import type { Pool } from 'pg'
import { PG_DEFAULTS } from './defaults.js'
import { quoteIdentifier, quoteTableName } from './identifiers.js'

/** Column types `pgSink` can write values to. */
export type SinkValueType = 'text' | 'jsonb' | 'json'

const VALUE_TYPES = ['text', 'jsonb', 'json'] as const satisfies readonly SinkValueType[]
export const SINK_OPTIONS: readonly (keyof PgSinkOptions)[] = ['table', 'keyColumn', 'valueColumn', 'valueType']

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
   * Default: {@link PG_DEFAULTS}`.valueType`.
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
 * Rows go in key order, so two writers upserting overlapping keys at once — the old replica's shutdown
 * flush and the new replica's background flush, say — lock rows in the same order and cannot deadlock.
 * An aborted `signal` rejects with its reason at once; a statement already sent may still complete.
 */
export function pgSink(pool: Pool, options: PgSinkOptions): Sink {
  // Only `query` is called: a single pg.Client does too.
  requireClient('pool argument of pgSink', pool, 'a pg Pool (new pg.Pool(…))', ['query'])
  if (options === undefined)
    throw new InvalidOptionError('options of pgSink', 'expected { table, keyColumn, valueColumn }; got undefined')
  checkOptions('pgSink', options, SINK_OPTIONS)
  const table = quoteTableName('table of pgSink', options.table)
  const key = quoteIdentifier('keyColumn of pgSink', options.keyColumn)
  const value = quoteIdentifier('valueColumn of pgSink', options.valueColumn)
  const valueType = oneOf('valueType of pgSink', options.valueType, VALUE_TYPES, PG_DEFAULTS.valueType)
  if (key === value)
    throw new InvalidOptionError('valueColumn of pgSink', `must differ from keyColumn; both are ${key}`)
  const text =
    `INSERT INTO ${table} (${key}, ${value}) ` +
    `SELECT k, v FROM unnest($1::text[], $2::${valueType}[]) AS t(k, v) ` +
    `ON CONFLICT (${key}) DO UPDATE SET ${value} = EXCLUDED.${value}`

  return {
    async write(batch: readonly SinkEntry[], signal: AbortSignal): Promise<void> {
      signal?.throwIfAborted()
      if (batch.length === 0) return
      // Stable: of equal keys, the last one in the batch stays last, and wins.
      const sorted = [...batch].sort(byKey)
      const keys: string[] = []
      const values: string[] = []
      for (let i = 0; i < sorted.length; i++) {
        const entry = sorted[i] as SinkEntry
        if (entry.key === sorted[i + 1]?.key) continue
        keys.push(entry.key)
        values.push(entry.value)
      }
      const query = pool.query(text, [keys, values])
      await (signal ? abortable(query, signal) : query)
    },
  }
}

function byKey(a: SinkEntry, b: SinkEntry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}
