// Misuse caught when the function is called, for JavaScript callers who get no type check: this package's
// own options and arguments — unknown option keys ("did you mean"), null refused like any other wrong type
// (it never means "the default"), every duration within what Node's timers hold, wrong positional
// arguments — each with one code per mistake (core's) and a message that names what was passed. The task
// options every adapter shares (name, phase, timeoutMs, critical) are checked by the adapter contract
// (contract.test.ts).
import { closeRedis, createLocks, redisSink } from '@lameduck/redis'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectRefused, type OptionCase, type OptionErrorCode } from '../../../test/support/adapter-contract.js'
import { DATABASE_URL, describeWith, REDIS_URL } from '../../../test/support/services.js'
import { testShutdown } from '../../../test/support/shutdown.js'
import { cleanup, client, runPrefix } from './helpers.js'

const TOO_LONG = 2 ** 31 // one past MAX_TIMER_MS: Node would fire such a timer after 1 ms

// Real clients that never connect: the checks run before any command is sent.
const redis = new Redis(REDIS_URL, { lazyConnect: true })
const pool = new pg.Pool({ connectionString: DATABASE_URL })
afterAll(async () => {
  redis.disconnect()
  await pool.end()
})
/** What a node-redis client looks like to plain JavaScript: quit and disconnect, but not ioredis. */
const nodeRedisLike = { isOpen: true, quit: async () => {}, disconnect: async () => {}, mSet: async () => {} }

// biome-ignore format: one case a line
const createLocksCases: OptionCase[] = [
  ['timeout (for timeoutMs)', (s) => createLocks(s, redis, { timeout: 100 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /createLocks: unknown option "timeout" — did you mean "timeoutMs"\?/],
  ['keyprefix (case)', (s) => createLocks(s, redis, { keyprefix: 'x:' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "keyPrefix"/],
  ['ttlMs (an acquire option)', (s) => createLocks(s, redis, { ttlMs: 1000 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "ttlMs"/],
  ['retryDelayMs null', (s) => createLocks(s, redis, { retryDelayMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /retryDelayMs of createLocks .*got null/],
  ['retryDelayMs 0', (s) => createLocks(s, redis, { retryDelayMs: 0 }), 'LAMEDUCK_ERR_INVALID_DURATION', /retryDelayMs of createLocks must be greater than 0 ms; got 0/],
  ['retryDelayMs past 2^31-1', (s) => createLocks(s, redis, { retryDelayMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /got 2147483648/],
  ['batchSize null', (s) => createLocks(s, redis, { batchSize: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /batchSize of createLocks: .*got null/],
  ['batchSize 1.5', (s) => createLocks(s, redis, { batchSize: 1.5 }), 'LAMEDUCK_ERR_INVALID_OPTION', /got 1\.5/],
  ['keyPrefix null', (s) => createLocks(s, redis, { keyPrefix: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /keyPrefix of createLocks: .*got null/],
  ['arguments swapped', (s) => createLocks(redis as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of createLocks: .*got an ioredis client \(the coordinator comes first: createLocks\(shutdown, client, options\?\)\)/],
  ['a pg Pool for the client', (s) => createLocks(s, pool as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of createLocks: expected an ioredis client.*got a \w*Pool, which has no defineCommand\(\) method/],
  ['a URL for redis', (s) => createLocks(s, 'redis://127.0.0.1:6379' as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "redis:\/\/127\.0\.0\.1:6379"/],
  ['a node-redis client', (s) => createLocks(s, nodeRedisLike as never), 'LAMEDUCK_ERR_INVALID_OPTION', /expected an ioredis client/],
]

// biome-ignore format: one case a line
const closeRedisCases: OptionCase[] = [
  ['a node-redis client', (s) => closeRedis(s, nodeRedisLike as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of closeRedis: expected an ioredis client.*got an object, which has no defineCommand\(\) method/],
  ['a pg Pool', (s) => closeRedis(s, pool as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of closeRedis: .*got a \w*Pool/],
]

// biome-ignore format: one case a line
const redisSinkCases: OptionCase[] = [
  ['keyprefix (case)', () => redisSink(redis, { keyprefix: 'x:' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /redisSink: unknown option "keyprefix" — did you mean "keyPrefix"\?/],
  ['table (a pgSink option)', () => redisSink(redis, { table: 'cache' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "table"/],
  ['keyPrefix null', () => redisSink(redis, { keyPrefix: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /keyPrefix of redisSink: .*got null/],
  ['hash null', () => redisSink(redis, { hash: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /hash of redisSink: .*got null/],
  ['hash a number', () => redisSink(redis, { hash: 7 } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got 7/],
  ['options null', () => redisSink(redis, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /redisSink options/],
  ['a node-redis client', () => redisSink(nodeRedisLike as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of redisSink: expected an ioredis client/],
  ['a pg Pool', () => redisSink(pool as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got a \w*Pool/],
]

describe('@lameduck/redis refuses misuse when called', () => {
  for (const [fn, cases] of [
    ['createLocks', createLocksCases],
    ['closeRedis', closeRedisCases],
    ['redisSink', redisSinkCases],
  ] as const)
    it.each(cases)(`${fn}: %s`, (_title, call, code, message) =>
      expectRefused(() => call(testShutdown()), code, message),
    )

  it('accepts the documented options, undefined meaning the default', () => {
    const shutdown = testShutdown()
    createLocks(shutdown, redis, { keyPrefix: 'p:', timeoutMs: undefined, retryDelayMs: 2 ** 31 - 1 })
    closeRedis(shutdown, redis, { name: undefined, timeoutMs: 2 ** 31 - 1, critical: false })
    redisSink(redis, { keyPrefix: undefined, hash: undefined })
    expect(shutdown.plan()).toBeDefined()
  })
})

await describeWith('Redis', '@lameduck/redis acquire and extend refuse misuse when called', () => {
  const prefix = runPrefix()
  let real: Redis
  beforeAll(() => {
    real = client()
  })
  // Whatever today's code would have acquired is deleted with the prefix.
  afterAll(() => cleanup(prefix))

  // biome-ignore format: one case a line
  const cases: [string, (locks: ReturnType<typeof createLocks>) => Promise<unknown>, OptionErrorCode, RegExp][] = [
    ['no options', (l) => l.acquire('k1', undefined as never), 'LAMEDUCK_ERR_INVALID_OPTION', /options of acquire: expected \{ ttlMs \}/],
    ['options null', (l) => l.acquire('k1', null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /acquire options/],
    ['ttl (for ttlMs)', (l) => l.acquire('k2', { ttl: 1000 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /acquire: unknown option "ttl" — did you mean "ttlMs"\?/],
    ['wait (for waitMs)', (l) => l.acquire('k3', { ttlMs: 1000, wait: 5 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "waitMs"/],
    ['autoextend (case)', (l) => l.acquire('k4', { ttlMs: 1000, autoextend: true } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "autoExtend"/],
    ['ttlMs null', (l) => l.acquire('k5', { ttlMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /ttlMs of acquire .*got null/],
    ['ttlMs past 2^31-1', (l) => l.acquire('k6', { ttlMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /got 2147483648/],
    ['ttlMs 0', (l) => l.acquire('k7', { ttlMs: 0 }), 'LAMEDUCK_ERR_INVALID_DURATION', /ttlMs of acquire must be greater than 0 ms; got 0/],
    ['waitMs null', (l) => l.acquire('k8', { ttlMs: 1000, waitMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /waitMs of acquire .*got null/],
    ['waitMs past 2^31-1', (l) => l.acquire('k9', { ttlMs: 1000, waitMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /got 2147483648/],
    ['autoExtend null', (l) => l.acquire('k10', { ttlMs: 1000, autoExtend: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /autoExtend of acquire: .*got null/],
    ['signal not an AbortSignal', (l) => l.acquire('k11', { ttlMs: 1000, signal: {} } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /signal of acquire: .*got an object/],
    ['key not a string', (l) => l.acquire(42 as never, { ttlMs: 1000 }), 'LAMEDUCK_ERR_INVALID_OPTION', /key of acquire: .*got 42/],
    ['extend past 2^31-1', async (l) => (await l.acquire('k12', { ttlMs: 1000 })).extend(TOO_LONG), 'LAMEDUCK_ERR_INVALID_DURATION', /ttlMs of extend .*got 2147483648/],
    ['extend null', async (l) => (await l.acquire('k13', { ttlMs: 1000 })).extend(null as never), 'LAMEDUCK_ERR_INVALID_DURATION', /got null/],
    ['extend 0', async (l) => (await l.acquire('k14', { ttlMs: 1000 })).extend(0), 'LAMEDUCK_ERR_INVALID_DURATION', /ttlMs of extend must be greater than 0 ms/],
  ]
  it.each(cases)('acquire: %s', async (_title, call, code, message) => {
    const locks = createLocks(testShutdown(), real, { keyPrefix: prefix })
    try {
      await expectRefused(() => call(locks), code, message)
    } finally {
      await locks.releaseAll()
    }
  })
})
