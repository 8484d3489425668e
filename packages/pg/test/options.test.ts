// Misuse caught when the function is called, for JavaScript callers who get no type check: unknown option
// keys ("did you mean"), null refused like any other wrong type (it never means "the default"), every
// duration within what Node's timers hold, wrong positional arguments — each with one code per mistake
// (core's) and a message that names what was passed.
import { createShutdown, LameduckError, type Shutdown } from '@lameduck/core'
import { closePool, createAdvisoryLocks, pgSink } from '@lameduck/pg'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { DATABASE_URL, describeWith } from '../../../test/support/services.js'
import { makePool } from './helpers.js'

const TOO_LONG = 2 ** 31 // one past MAX_TIMER_MS: Node would fire such a timer after 1 ms
const coordinator = (): Shutdown => createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })

// Real pg objects that never connect: the checks run before any connection is made.
const pool = new pg.Pool({ connectionString: DATABASE_URL })
const client = new pg.Client({ connectionString: DATABASE_URL })
afterAll(() => pool.end())
const sinkOptions = { table: 'cache', keyColumn: 'k', valueColumn: 'v' }

type Code = 'LAMEDUCK_ERR_UNKNOWN_OPTION' | 'LAMEDUCK_ERR_INVALID_OPTION' | 'LAMEDUCK_ERR_INVALID_DURATION'
type Case = [title: string, call: (shutdown: Shutdown) => unknown, code: Code, message: RegExp]

async function expectRefused(call: () => unknown, code: Code, message: RegExp): Promise<void> {
  let thrown: unknown
  try {
    await call()
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'accepted').toBeInstanceOf(LameduckError)
  expect((thrown as LameduckError).code, (thrown as Error).message).toBe(code)
  expect((thrown as Error).message).toMatch(message)
}

// biome-ignore format: one case a line
const closePoolCases: Case[] = [
  ['timeout (for timeoutMs)', (s) => closePool(s, pool, { timeout: 100 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /closePool: unknown option "timeout" — did you mean "timeoutMs"\?/],
  ['Name (case)', (s) => closePool(s, pool, { Name: 'db' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "name"/],
  ['options null', (s) => closePool(s, pool, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /closePool options/],
  ['timeoutMs null', (s) => closePool(s, pool, { timeoutMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of closePool .*got null/],
  ['timeoutMs negative', (s) => closePool(s, pool, { timeoutMs: -1 }), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of closePool .*got -1/],
  ['timeoutMs past 2^31-1', (s) => closePool(s, pool, { timeoutMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of closePool must be at most 2147483647 ms.*got 2147483648/],
  ['critical null', (s) => closePool(s, pool, { critical: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /critical of closePool: .*got null/],
  ['name null', (s) => closePool(s, pool, { name: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /name of closePool: .*got null/],
  ['name a number', (s) => closePool(s, pool, { name: 7 } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got 7/],
  ['a pg Client for the pool', (s) => closePool(s, client as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of closePool: expected a pg Pool .*got a pg Client/],
  ['an object for the pool', (s) => closePool(s, {} as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of closePool: .*got an object/],
  ['no coordinator', () => closePool(undefined as never, pool), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of closePool: expected the coordinator createShutdown\(\) returns; got undefined/],
  ['a coordinator-like object', () => closePool({ addTask: () => () => {} } as never, pool), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of closePool: .*got an object/],
  ['arguments swapped', (s) => closePool(pool as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of closePool: .*got a pg Pool \(the coordinator comes first/],
]

// biome-ignore format: one case a line
const advisoryLocksCases: Case[] = [
  ['retry (for retryMs)', (s) => createAdvisoryLocks(s, pool, { retry: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /createAdvisoryLocks: unknown option "retry" — did you mean "retryMs"\?/],
  ['waitMs (an acquire option)', (s) => createAdvisoryLocks(s, pool, { waitMs: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "waitMs"/],
  ['options null', (s) => createAdvisoryLocks(s, pool, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /createAdvisoryLocks options/],
  ['retryMs null', (s) => createAdvisoryLocks(s, pool, { retryMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /retryMs of createAdvisoryLocks .*got null/],
  ['retryMs 0', (s) => createAdvisoryLocks(s, pool, { retryMs: 0 }), 'LAMEDUCK_ERR_INVALID_OPTION', /retryMs of createAdvisoryLocks: .*greater than 0 ms; got 0/],
  ['retryMs past 2^31-1', (s) => createAdvisoryLocks(s, pool, { retryMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /got 2147483648/],
  ['timeoutMs null', (s) => createAdvisoryLocks(s, pool, { timeoutMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of createAdvisoryLocks .*got null/],
  ['timeoutMs past 2^31-1', (s) => createAdvisoryLocks(s, pool, { timeoutMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of createAdvisoryLocks must be at most/],
  ['critical "false"', (s) => createAdvisoryLocks(s, pool, { critical: 'false' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /critical of createAdvisoryLocks: .*got "false"/],
  ['name null', (s) => createAdvisoryLocks(s, pool, { name: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /name of createAdvisoryLocks: .*got null/],
  ['a pg Client for the pool', (s) => createAdvisoryLocks(s, client as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pool argument of createAdvisoryLocks: expected a pg Pool .*got a pg Client/],
  ['a connection string for the pool', (s) => createAdvisoryLocks(s, DATABASE_URL as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "postgres/],
  ['no coordinator', () => createAdvisoryLocks(null as never, pool), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of createAdvisoryLocks: .*got null/],
  ['arguments swapped', (s) => createAdvisoryLocks(pool as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got a pg Pool \(the coordinator comes first/],
]

// biome-ignore format: one case a line
const pgSinkCases: Case[] = [
  ['no options', () => pgSink(pool, undefined as never), 'LAMEDUCK_ERR_INVALID_OPTION', /options of pgSink: expected \{ table, keyColumn, valueColumn \}; got undefined/],
  ['options null', () => pgSink(pool, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pgSink options/],
  ['key (for keyColumn)', () => pgSink(pool, { ...sinkOptions, key: 'k' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /pgSink: unknown option "key" — did you mean "keyColumn"\?/],
  ['valuetype (case)', () => pgSink(pool, { ...sinkOptions, valuetype: 'jsonb' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "valueType"/],
  ['keyPrefix (a redisSink option)', () => pgSink(pool, { ...sinkOptions, keyPrefix: 'x:' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "keyPrefix"/],
  ['valueType null', () => pgSink(pool, { ...sinkOptions, valueType: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /valueType of pgSink: expected one of 'text', 'jsonb', 'json'; got null/],
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
      expectRefused(() => call(coordinator()), code, message),
    )

  it('accepts the documented options, undefined meaning the default', () => {
    const shutdown = coordinator()
    closePool(shutdown, pool, { name: undefined, timeoutMs: 2 ** 31 - 1, critical: false })
    createAdvisoryLocks(shutdown, pool, { retryMs: undefined, timeoutMs: 0 })
    pgSink(pool, { ...sinkOptions, valueType: undefined })
    expect(shutdown.plan()).toBeDefined()
  })
})

await describeWith('PostgreSQL', '@lameduck/pg acquire refuses misuse when called', () => {
  // biome-ignore format: one case a line
  const cases: [string, (locks: ReturnType<typeof createAdvisoryLocks>) => Promise<unknown>, Code, RegExp][] = [
    ['wait (for waitMs)', (l) => l.acquire('lameduck_opt_1', { wait: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /acquire: unknown option "wait" — did you mean "waitMs"\?/],
    ['options null', (l) => l.acquire('lameduck_opt_2', null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /acquire options/],
    ['waitMs null', (l) => l.acquire('lameduck_opt_3', { waitMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /waitMs of acquire .*got null/],
    ['waitMs past 2^31-1', (l) => l.acquire('lameduck_opt_4', { waitMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /waitMs of acquire must be at most .*got 2147483648/],
    ['signal not an AbortSignal', (l) => l.acquire('lameduck_opt_5', { signal: 'stop' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /signal of acquire: .*got "stop"/],
    ['key null', (l) => l.acquire(null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /key: .*got null/],
  ]
  it.each(cases)('acquire: %s', async (_title, call, code, message) => {
    const shutdown = coordinator()
    const locks = createAdvisoryLocks(shutdown, makePool())
    try {
      await expectRefused(() => call(locks), code, message)
    } finally {
      // Gives back whatever today's code would have locked, and the connection.
      await shutdown.shutdown()
    }
  })
})
