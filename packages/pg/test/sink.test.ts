import { InvalidOptionError } from '@lameduck/core'
import { pgSink } from '@lameduck/pg'
import type pg from 'pg'
import { expect, it, vi } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { makePool, onCleanup, uniqueName } from './helpers.js'

async function makeTable(pool: pg.Pool, valueType = 'text', schema?: string): Promise<string> {
  const name = uniqueName()
  const table = schema ? `"${schema}"."${name}"` : `"${name}"`
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
  await pool.query(`CREATE TABLE ${table} (k text PRIMARY KEY, v ${valueType} NOT NULL)`)
  onCleanup(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`)
    if (schema) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  })
  return schema ? `${schema}.${name}` : name
}

async function rows(pool: pg.Pool, table: string): Promise<Map<string, unknown>> {
  const quoted = table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.')
  const result = await pool.query<{ k: string; v: unknown }>(`SELECT k, v FROM ${quoted}`)
  return new Map(result.rows.map((row) => [row.k, row.v]))
}

const signal = () => new AbortController().signal

await describeWith('PostgreSQL', 'pgSink', () => {
  it('upserts 10,000 entries in batches, one statement each', async () => {
    const pool = makePool()
    const table = await makeTable(pool)
    const sink = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' })
    const query = vi.spyOn(pool, 'query')
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }))
    for (let i = 0; i < entries.length; i += 1000) await sink.write(entries.slice(i, i + 1000), signal())
    expect(query).toHaveBeenCalledTimes(10)
    expect(query.mock.calls[0]?.[0]).toBe(
      `INSERT INTO "${table}" ("k", "v") SELECT k, v FROM unnest($1::text[], $2::text[]) AS t(k, v) ON CONFLICT ("k") DO UPDATE SET "v" = EXCLUDED."v"`,
    )
    const stored = await rows(pool, table)
    expect(stored.size).toBe(10_000)
    expect(stored.get('key-0')).toBe('value-0')
    expect(stored.get('key-9999')).toBe('value-9999')
  })

  it('overwrites existing rows and keeps the last value of keys repeated in a batch', async () => {
    const pool = makePool()
    const table = await makeTable(pool)
    const sink = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' })
    await sink.write(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '1' },
      ],
      signal(),
    )
    await sink.write(
      [
        { key: 'a', value: '2' },
        { key: 'c', value: 'first' },
        { key: 'a', value: '3' },
        { key: 'c', value: 'last' },
      ],
      signal(),
    )
    await sink.write([], signal())
    expect(Object.fromEntries(await rows(pool, table))).toEqual({ a: '3', b: '1', c: 'last' })
  })

  it('two writers upserting the same keys in opposite orders at once do not deadlock', async () => {
    const pool = makePool()
    const table = await makeTable(pool)
    const a = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' })
    const b = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' })
    const keys = Array.from({ length: 2000 }, (_, i) => `key-${i}`)
    await a.write(
      keys.map((key) => ({ key, value: 'initial' })),
      signal(),
    )
    // Row locks taken in the batch's order would cross: PostgreSQL would detect a deadlock after
    // deadlock_timeout (1 s) and fail one of them.
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        a.write(
          keys.map((key) => ({ key, value: `a${round}` })),
          signal(),
        ),
        b.write(
          keys.toReversed().map((key) => ({ key, value: `b${round}` })),
          signal(),
        ),
      ])
    }
    const values = new Set((await rows(pool, table)).values())
    expect(values.size).toBe(1)
    expect(['a4', 'b4']).toContain([...values][0])
  })

  it('passes awkward keys and values as parameters, untouched', async () => {
    const pool = makePool()
    const table = await makeTable(pool)
    const sink = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' })
    const awkward = [`'; DROP TABLE "${table}"; --`, '{"a","b"}', 'back\\slash', 'quote"d', 'NULL', '', 'ключ ✓']
    await sink.write(
      awkward.map((key, i) => ({ key, value: awkward[(i + 1) % awkward.length]! })),
      signal(),
    )
    const stored = await rows(pool, table)
    expect(stored.size).toBe(awkward.length)
    awkward.forEach((key, i) => {
      expect(stored.get(key)).toBe(awkward[(i + 1) % awkward.length])
    })
  })

  it('writes jsonb values and schema-qualified tables', async () => {
    const pool = makePool()
    const table = await makeTable(pool, 'jsonb', uniqueName('lameduck_schema'))
    const sink = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v', valueType: 'jsonb' })
    await sink.write(
      [
        { key: 'user:1', value: JSON.stringify({ name: 'Ada', tags: ['x', 'y'], quote: 'a "b"' }) },
        { key: 'user:2', value: '42' },
      ],
      signal(),
    )
    await sink.write([{ key: 'user:2', value: '{"n": 43}' }], signal())
    const stored = await rows(pool, table)
    expect(stored.get('user:1')).toEqual({ name: 'Ada', tags: ['x', 'y'], quote: 'a "b"' })
    expect(stored.get('user:2')).toEqual({ n: 43 })
    await expect(sink.write([{ key: 'bad', value: 'not json' }], signal())).rejects.toThrow(/json/i)
  })

  it('rejects invalid identifiers and options at creation', () => {
    const pool = makePool()
    const base = { table: 'cache', keyColumn: 'k', valueColumn: 'v' }
    for (const table of ['users; drop table x', '"x"', 'a.b.c', '', '1abc', 'x'.repeat(64), 'we-ird', 'a .b'])
      expect(() => pgSink(pool, { ...base, table })).toThrow(InvalidOptionError)
    for (const keyColumn of ['"x"', 'k v', 'k)--', 's.k'])
      expect(() => pgSink(pool, { ...base, keyColumn })).toThrow(InvalidOptionError)
    expect(() => pgSink(pool, { ...base, valueColumn: "v'" })).toThrow(InvalidOptionError)
    expect(() => pgSink(pool, { ...base, valueType: 'int' as never })).toThrow(InvalidOptionError)
    expect(() => pgSink(pool, { ...base, valueColumn: 'k' })).toThrow(InvalidOptionError)
    expect(() => pgSink({} as never, base)).toThrow(InvalidOptionError)
    expect(() => pgSink(pool, { ...base, table: 'public.cache_1', keyColumn: '_k$', valueColumn: 'V' })).not.toThrow()
    expect(() => pgSink(pool, { ...base, table: 'users; drop table x' })).toThrow(/LAMEDUCK|identifier/)
  })

  it('respects the signal: rejects with its reason before and during the statement', async () => {
    const pool = makePool()
    const table = await makeTable(pool)
    const sink = pgSink(pool, { table, keyColumn: 'k', valueColumn: 'v' })
    const aborted = new AbortController()
    const reason = new Error('budget over')
    aborted.abort(reason)
    await expect(sink.write([{ key: 'a', value: '1' }], aborted.signal)).rejects.toBe(reason)
    expect((await rows(pool, table)).size).toBe(0)

    // A statement blocked by a row lock, aborted while it waits.
    const blocker = await pool.connect()
    await blocker.query('BEGIN')
    await blocker.query(`INSERT INTO "${table}" (k, v) VALUES ('a', 'blocker')`)
    const during = new AbortController()
    const write = sink.write([{ key: 'a', value: '2' }], during.signal)
    setTimeout(() => during.abort(reason), 100)
    const started = Date.now()
    await expect(write).rejects.toBe(reason)
    expect(Date.now() - started).toBeLessThan(1000)
    await blocker.query('ROLLBACK')
    blocker.release()
  })
})
