import type { Pool, PoolClient } from 'pg'

/** A queued `connect()` in pg-pool: calling its callback settles the caller's promise. */
export interface PendingItem {
  callback: (error: Error | undefined, client?: undefined, done?: () => void) => void
}

/** The parts of pg-pool's internals this package relies on (pg-pool 3.x, pg 8). */
export interface PoolInternals {
  _clients: PoolClient[]
  _idle: { client: PoolClient }[]
  _pendingQueue: PendingItem[]
  _endCallback?: (() => void) | undefined
  _pulseQueue?: () => void
  ending: boolean
  ended: boolean
  connect: (...args: unknown[]) => unknown
  end: Pool['end']
}

export function internalsOf(pool: Pool): PoolInternals {
  return pool as unknown as PoolInternals
}

export function isPgPool(pool: unknown): pool is Pool {
  const p = pool as Partial<PoolInternals> | null
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.connect === 'function' &&
    typeof p.end === 'function' &&
    typeof (p as { query?: unknown }).query === 'function' &&
    Array.isArray(p._clients) &&
    Array.isArray(p._idle) &&
    Array.isArray(p._pendingQueue)
  )
}

const noop = () => {}

/**
 * Destroys a client's connection at once, without waiting for PostgreSQL (which may be gone). Its
 * pending queries fail with "Connection terminated…"; the `error` event this raises is swallowed, since
 * checked-out clients have no pool listener and an unhandled `error` would crash the process.
 */
export function destroyClient(client: PoolClient): void {
  client.on('error', noop)
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream
  if (stream && typeof stream.destroy === 'function') stream.destroy()
  else void Promise.resolve(client.end()).catch(noop)
}
