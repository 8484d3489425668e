// Misuse caught when the function is called, for JavaScript callers who get no type check: this package's
// own options and arguments — unknown option keys ("did you mean"), null refused like any other wrong type
// (it never means "the default"), wrong positional arguments — each with one code per mistake (core's) and
// a message that names what was passed. The task options every adapter shares are checked by the adapter
// contract (contract.test.ts).
import { closeEtcd, createLease } from '@lameduck/etcd'
import { Etcd3 } from 'etcd3'
import { Redis } from 'ioredis'
import { afterAll, describe, it } from 'vitest'
import { expectRefused, type OptionCase } from '../../../test/support/adapter-contract.js'
import { testShutdown } from '../../../test/support/shutdown.js'

// A client pointed at a port nothing listens on: every check runs before a request would matter.
const etcd = new Etcd3({ hosts: '127.0.0.1:1' })
const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true })
afterAll(() => {
  etcd.close()
  redis.disconnect()
})
const lease = () => createLease(testShutdown(), etcd, { name: `misuse-${Math.random()}` })

// biome-ignore format: one case a line
const createLeaseCases: OptionCase[] = [
  ['ttl (for ttlSeconds)', (s) => createLease(s, etcd, { ttl: 10 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /createLease: unknown option "ttl" — did you mean "ttlSeconds"\?/],
  ['ttlMs (a Redis option)', (s) => createLease(s, etcd, { ttlMs: 10_000 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "ttlMs"/],
  ['ttlSeconds 0', (s) => createLease(s, etcd, { ttlSeconds: 0 }), 'LAMEDUCK_ERR_INVALID_OPTION', /ttlSeconds of createLease: expected whole seconds from 1 to 2147483; got 0/],
  ['ttlSeconds 1.5', (s) => createLease(s, etcd, { ttlSeconds: 1.5 }), 'LAMEDUCK_ERR_INVALID_OPTION', /got 1\.5/],
  ['ttlSeconds in ms', (s) => createLease(s, etcd, { ttlSeconds: 10_000_000 }), 'LAMEDUCK_ERR_INVALID_OPTION', /got 10000000/],
  ['ttlSeconds null', (s) => createLease(s, etcd, { ttlSeconds: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got null/],
  ['ttlSeconds a string', (s) => createLease(s, etcd, { ttlSeconds: '10' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "10"/],
  ['retryDelayMs 0', (s) => createLease(s, etcd, { retryDelayMs: 0 }), 'LAMEDUCK_ERR_INVALID_DURATION', /retryDelayMs of createLease must be greater than 0 ms; got 0/],
  ['electionPollMs null', (s) => createLease(s, etcd, { electionPollMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /electionPollMs of createLease .*got null/],
  ['requestTimeoutMs -1', (s) => createLease(s, etcd, { requestTimeoutMs: -1 }), 'LAMEDUCK_ERR_INVALID_DURATION', /requestTimeoutMs of createLease/],
  ['arguments swapped', (s) => createLease(etcd as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of createLease: .*got an etcd3 client \(the coordinator comes first: createLease\(shutdown, client, options\?\)\)/],
  ['an ioredis client', (s) => createLease(s, redis as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of createLease: expected an etcd3 client .*which has no if\(\) method/],
  ['a URL for the client', (s) => createLease(s, 'http://127.0.0.1:2379' as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "http:\/\/127\.0\.0\.1:2379"/],
  ['a client without leaseClient', (s) => createLease(s, { if() {}, put() {}, get() {}, getAll() {}, delete() {} } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /whose leaseClient has leaseGrant\(\)/],
]

// biome-ignore format: one case a line
const useCases: [string, () => unknown, OptionCase[2], RegExp][] = [
  ['lock: empty key', () => lease().lock(''), 'LAMEDUCK_ERR_INVALID_OPTION', /key of lock/],
  ['lock: ttlMs (a Redis option)', () => lease().lock('k', { ttlMs: 1000 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /lock: unknown option "ttlMs"/],
  ['lock: wait (for waitMs)', () => lease().lock('k', { wait: 1000 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "waitMs"/],
  ['lock: waitMs null', () => lease().lock('k', { waitMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /waitMs of lock/],
  ['lock: signal not a signal', () => lease().lock('k', { signal: {} } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /signal of lock: expected an AbortSignal/],
  ['lock: value a number', () => lease().lock('k', { value: 7 } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /value of lock: expected a string; got 7/],
  ['register: no value', () => lease().register('k', undefined as never), 'LAMEDUCK_ERR_INVALID_OPTION', /value of register/],
  ['register: empty key', () => lease().register('', 'v'), 'LAMEDUCK_ERR_INVALID_OPTION', /key of register/],
  ['campaign: empty election', () => lease().campaign('', 'v'), 'LAMEDUCK_ERR_INVALID_OPTION', /election of campaign/],
  ['campaign: a value object', () => lease().campaign('e', { id: 1 } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /value of campaign/],
  ['campaign: ttl option', () => lease().campaign('e', 'v', { ttl: 5 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /campaign: unknown option "ttl"/],
]

// biome-ignore format: one case a line
const closeEtcdCases: OptionCase[] = [
  ['a namespace (cannot be closed)', (s) => closeEtcd(s, etcd.namespace('app/') as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of closeEtcd: expected an etcd3 client .*which has no close\(\) method/],
  ['an ioredis client', (s) => closeEtcd(s, redis as never), 'LAMEDUCK_ERR_INVALID_OPTION', /client argument of closeEtcd/],
  ['arguments swapped', (s) => closeEtcd(etcd as never, s as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got an etcd3 client \(the coordinator comes first/],
]

describe('@lameduck/etcd: misuse', () => {
  it.each(createLeaseCases)('createLease: %s', async (_title, call, code, message) => {
    await expectRefused(() => call(testShutdown()), code, message)
  })
  it.each(useCases)('%s', async (_title, call, code, message) => {
    await expectRefused(call, code, message)
  })
  it.each(closeEtcdCases)('closeEtcd: %s', async (_title, call, code, message) => {
    await expectRefused(() => call(testShutdown()), code, message)
  })
})
