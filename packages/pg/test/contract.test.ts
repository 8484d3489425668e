import { createRequire } from 'node:module'
import { closePool, createAdvisoryLocks, PG_DEFAULTS } from '@lameduck/pg'
import pg from 'pg'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'
import { DATABASE_URL } from '../../../test/support/services.js'

// Real pools that never connect: registering opens no connection, and neither do the tasks of a pool that
// was never used (closePool ends it, the advisory locks have no connection to give back).
const pool = () => new pg.Pool({ connectionString: DATABASE_URL })
// The CommonJS build, beside the ESM sources the tests import (build first).
const cjs = createRequire(import.meta.url)('@lameduck/pg') as typeof import('@lameduck/pg')

describeAdapterContract('@lameduck/pg', [
  {
    where: 'closePool',
    defaults: PG_DEFAULTS.pool,
    resource: pool,
    register: (shutdown, p, options) => closePool(shutdown, p as pg.Pool, options),
    registerCommonJs: (shutdown, p) => cjs.closePool(shutdown, p as pg.Pool),
    members: ['pool', 'stats'],
    dispose: (p) => ((p as pg.Pool).ending ? undefined : (p as pg.Pool).end()),
  },
  {
    where: 'createAdvisoryLocks',
    defaults: PG_DEFAULTS.locks,
    resource: pool,
    register: (shutdown, p, options) => createAdvisoryLocks(shutdown, p as pg.Pool, options),
    registerCommonJs: (shutdown, p) => cjs.createAdvisoryLocks(shutdown, p as pg.Pool),
    members: ['acquire', 'held'],
    durations: { retryDelayMs: { positive: true } },
    dispose: (p) => ((p as pg.Pool).ending ? undefined : (p as pg.Pool).end()),
  },
])
