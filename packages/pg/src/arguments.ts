import { InvalidOptionError } from '@lameduck/core'
import { describeArgument, requireClient } from '@lameduck/core/adapter'
import type { Pool } from 'pg'

// The checks of this package's own arguments; every option goes through the kit's validators.

const POOL = 'a pg Pool (new pg.Pool(…))'

/**
 * The pool argument of `where`: a `pg.Pool` (or a pool with its interface) — `connect`, `query`, `end` and
 * the `totalCount` a `pg.Client` lacks: a client has `connect` and `query` too, but no connection to hand out.
 */
export function requirePool(where: string, value: unknown): Pool {
  const pool = requireClient<Pool>(`pool argument of ${where}`, value, POOL, ['connect', 'query', 'end'])
  if (typeof (pool as { totalCount?: unknown }).totalCount !== 'number')
    throw new InvalidOptionError(
      `pool argument of ${where}`,
      `expected ${POOL}; got ${describeArgument(value)}, which has no totalCount: a single connection (pg.Client) ` +
        'has no connections to hand out',
    )
  return pool
}
