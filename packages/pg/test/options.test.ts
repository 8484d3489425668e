// Misuse caught when the function is called, for JavaScript callers who get no type check: this package's
// own options and arguments — unknown option keys ("did you mean"), null refused like any other wrong type
// (it never means "the default"), every duration within what Node's timers hold, wrong positional
// arguments — each with one code per mistake (core's) and a message that names what was passed. The task
// options every adapter shares (name, phase, timeoutMs, critical) are checked by the adapter contract
// (contract.test.ts).
import { closePool, createAdvisoryLocks, pgSink } from '@lameduck/pg'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { expectRefused, type OptionCase, type OptionErrorCode } from '../../../test/support/adapter-contract.js'
import { DATABASE_URL, describeWith } from '../../../test/support/services.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { makePool } from './helpers.js'

const TOO_LONG = 2 ** 31 // one past MAX_TIMER_MS: Node would fire such a timer after 1 ms

// Real pg objects that never connect: the checks run before any connection is made.
const pool = new pg.Pool({ connectionString: DATABASE_URL })
const client = new pg.Client({ connectionString: DATABASE_URL })
afterAll(() => pool.end())
const sinkOptions = { table: 'cache', keyColumn: 'k', valueColumn: 'v' }

// biome-ignore format: one case a line
const closePoolCases: OptionCase[] = [
  ['Name (case)', (s) => closePool(s, pool, { Name: 'db' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "name"/],
  ['a pg Client for the pool', (s) => closePool(s, client as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of closePool: expected a pg Pool .*got a Client, which has no totalCount/],
  ['an object for the pool', (s) => closePool(s, {} as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of closePool: .*got an object/],
  ['arguments swapped', (s) => closePool(pool as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of closePool: .*got a \w*Pool \(the coordinator comes first: closePool\(shutdown, pool, options\?\)\)/],
]

// biome-ignore format: one case a line
const advisoryLocksCases: OptionCase[] = [
  ['retry (for retryDelayMs)', (s) => createAdvisoryLocks(s, pool, { retry: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /createAdvisoryLocks: unknown option "retry" — did you mean "retryDelayMs"\?/],
  ['retryMs (renamed retryDelayMs)', (s) => createAdvisoryLocks(s, pool, { retryMs: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "retryMs" .*known: .*retryDelayMs/],
  ['waitMs (an acquire option)', (s) => createAdvisoryLocks(s, pool, { waitMs: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "waitMs"/],
  ['retryDelayMs null', (s) => createAdvisoryLocks(s, pool, { retryDelayMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /retryDelayMs of createAdvisoryLocks .*got null/],
  ['retryDelayMs 0', (s) => createAdvisoryLocks(s, pool, { retryDelayMs: 0 }), 'LAMEDUCK_ERR_INVALID_DURATION', /retryDelayMs of createAdvisoryLocks must be greater than 0 ms; got 0/],
  ['retryDelayMs past 2^31-1', (s) => createAdvisoryLocks(s, pool, { retryDelayMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /got 2147483648/],
  ['a pg Client for the pool', (s) => createAdvisoryLocks(s, client as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of createAdvisoryLocks: expected a pg Pool .*got a Client, which has no totalCount/],
  ['a connection string for the pool', (s) => createAdvisoryLocks(s, DATABASE_URL as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "postgres/],
  ['arguments swapped', (s) => createAdvisoryLocks(pool as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got a \w*Pool \(the coordinator comes first: createAdvisoryLocks\(shutdown, pool, options\?\)\)/],
]

// biome-ignore format: one case a line
const pgSinkCases: OptionCase[] = [
  ['no options', () => pgSink(pool, undefined as never), 'LAMEDUCK_ERR_INVALID_OPTION', /options of pgSink: expected \{ table, keyColumn, valueColumn \}; got undefined/],
  ['options null', () => pgSink(pool, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pgSink options/],
  ['key (for keyColumn)', () => pgSink(pool, { ...sinkOptions, key: 'k' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /pgSink: unknown option "key" — did you mean "keyColumn"\?/],
  ['valuetype (case)', () => pgSink(pool, { ...sinkOptions, valuetype: 'jsonb' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "valueType"/],
  ['keyPrefix (a redisSink option)', () => pgSink(pool, { ...sinkOptions, keyPrefix: 'x:' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "keyPrefix"/],
  ['valueType null', () => pgSink(pool, { ...sinkOptions, valueType: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /valueType of pgSink: expected one of "text", "jsonb", "json"; got null/],
  ['valueType JSONB', () => pgSink(pool, { ...sinkOptions, valueType: 'JSONB' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "JSONB"/],
  ['table null', () => pgSink(pool, { ...sinkOptions, table: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /table of pgSink: .*got null/],
  ['table missing', () => pgSink(pool, { keyColumn: 'k', valueColumn: 'v' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /table of pgSink: .*got undefined/],
  ['keyColumn a number', () => pgSink(pool, { ...sinkOptions, keyColumn: 1 } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /keyColumn of pgSink: .*got 1/],
  ['an object for the pool', () => pgSink({} as never, sinkOptions), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of pgSink: expected a pg Pool .*got an object/],
  ['a connection string for the pool', () => pgSink(DATABASE_URL as never, sinkOptions), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of pgSink: .*got "postgres/],
]

describe('@lameduck/pg refuses misuse when called', () => {
  for (const [fn, cases] of [
    ['closePool', closePoolCases],
    ['createAdvisoryLocks', advisoryLocksCases],
    ['pgSink', pgSinkCases],
  ] as const)
    it.each(cases)(`${fn}: %s`, (_title, call, code, message) =>
      expectRefused(() => call(testShutdown()), code, message),
    )

  it('accepts the documented options, undefined meaning the default', () => {
    const shutdown = testShutdown()
    closePool(shutdown, pool, { name: undefined, timeoutMs: 2 ** 31 - 1, critical: false })
    createAdvisoryLocks(shutdown, pool, { retryDelayMs: undefined, timeoutMs: 0 })
    pgSink(pool, { ...sinkOptions, valueType: undefined })
    expect(shutdown.plan()).toBeDefined()
  })
})

await describeWith('PostgreSQL', '@lameduck/pg acquire refuses misuse when called', () => {
  // biome-ignore format: one case a line
  const cases: [string, (locks: ReturnType<typeof createAdvisoryLocks>) => Promise<unknown>, OptionErrorCode, RegExp][] = [
    ['wait (for waitMs)', (l) => l.acquire('lameduck_opt_1', { wait: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /acquire: unknown option "wait" — did you mean "waitMs"\?/],
    ['options null', (l) => l.acquire('lameduck_opt_2', null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /acquire options/],
    ['waitMs null', (l) => l.acquire('lameduck_opt_3', { waitMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /waitMs of acquire .*got null/],
    ['waitMs past 2^31-1', (l) => l.acquire('lameduck_opt_4', { waitMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /waitMs of acquire must be at most .*got 2147483648/],
    ['signal not an AbortSignal', (l) => l.acquire('lameduck_opt_5', { signal: 'stop' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /signal of acquire: .*got "stop"/],
    ['key null', (l) => l.acquire(null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /key: .*got null/],
  ]
  it.each(cases)('acquire: %s', async (_title, call, code, message) => {
    const shutdown = testShutdown()
    const locks = createAdvisoryLocks(shutdown, makePool())
    try {
      await expectRefused(() => call(locks), code, message)
    } finally {
      // Gives back whatever today's code would have locked, and the connection.
      await shutdown.shutdown()
    }
  })
})
