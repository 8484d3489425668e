import { createRequire } from 'node:module'
import { closeRedis, createLocks, REDIS_DEFAULTS } from '@lameduck/redis'
import { Redis } from 'ioredis'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'
import { REDIS_URL } from '../../../test/support/services.js'

// Real clients that never connect: registering sends no command, and neither do the tasks of a client that
// holds no lock and never connected (closeRedis only disconnects it).
const client = () => new Redis(REDIS_URL, { lazyConnect: true })
// The CommonJS build, beside the ESM sources the tests import (build first).
const cjs = createRequire(import.meta.url)('@lameduck/redis') as typeof import('@lameduck/redis')

describeAdapterContract('@lameduck/redis', [
  {
    where: 'closeRedis',
    defaults: REDIS_DEFAULTS.quit,
    resource: client,
    register: (shutdown, redis, options) => closeRedis(shutdown, redis as Redis, options),
    registerCommonJs: (shutdown, redis) => cjs.closeRedis(shutdown, redis as Redis),
    members: [],
    dispose: (redis) => (redis as Redis).disconnect(),
  },
  {
    where: 'createLocks',
    defaults: REDIS_DEFAULTS.locks,
    resource: client,
    register: (shutdown, redis, options) => createLocks(shutdown, redis as Redis, options),
    registerCommonJs: (shutdown, redis) => cjs.createLocks(shutdown, redis as Redis),
    members: ['acquire', 'held', 'releaseAll'],
    durations: { retryDelayMs: { positive: true } },
    dispose: (redis) => (redis as Redis).disconnect(),
  },
])
