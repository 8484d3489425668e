import type { Pool, PoolClient } from 'pg'

// Every read of pg's private internals, in one file: what each relies on (pg 8, pg-pool 3), how it is
// detected, and what happens when a version no longer has it. The rest of the package uses pg's public API
// (`connect`, `query`, `end`, `release`, `totalCount`, `idleCount`, `ending`, `ended`).

/** A `connect()` waiting in pg-pool's queue: calling its callback settles the caller's promise. */
interface PendingItem {
  callback: (error: Error | undefined, client?: undefined, done?: () => void) => void
}

/** The parts of pg-pool's internals the pool close relies on. */
interface PoolInternals {
  _clients: PoolClient[]
  _idle: { client: PoolClient }[]
  _pendingQueue: PendingItem[]
  _pulseQueue: () => void
}

/**
 * What the pool close can do to a pool beyond its public API. `complete` says whether pg-pool's internals
 * were found; without them (another pg version) the close falls back to `pool.end()` alone: queued
 * `connect()` calls are not rejected, and clients still checked out at the deadline cannot be destroyed.
 */
export interface PoolControl {
  readonly complete: boolean
  /** Idle and checked-out clients now. */
  counts(): { idle: number; checkedOut: number }
  /** Rejects every `connect()` waiting for a client with `error`; returns how many. */
  rejectQueued(error: Error): number
  /**
   * Destroys the clients still checked out and makes the pool forget them, so that it ends now; returns how
   * many. Without the internals: destroys nothing and returns how many are still checked out.
   */
  destroyCheckedOut(): number
}

function internalsOf(pool: Pool): PoolInternals | undefined {
  const p = pool as unknown as Partial<PoolInternals>
  return Array.isArray(p._clients) &&
    Array.isArray(p._idle) &&
    Array.isArray(p._pendingQueue) &&
    typeof p._pulseQueue === 'function'
    ? (p as PoolInternals)
    : undefined
}

/** The {@link PoolControl} of `pool`: through pg-pool's internals when it has them, else the public fallback. */
export function poolControl(pool: Pool): PoolControl {
  const internals = internalsOf(pool)
  if (internals === undefined)
    return {
      complete: false,
      counts: () => ({ idle: pool.idleCount, checkedOut: pool.totalCount - pool.idleCount }),
      rejectQueued: () => 0,
      destroyCheckedOut: () => pool.totalCount - pool.idleCount,
    }
  return {
    complete: true,
    counts: () => ({ idle: internals._idle.length, checkedOut: internals._clients.length - internals._idle.length }),
    rejectQueued(error) {
      const queued = internals._pendingQueue.splice(0)
      for (const item of queued) item.callback(error, undefined, () => {})
      return queued.length
    },
    destroyCheckedOut() {
      // By now pool.end() has closed the idle clients: every client left is checked out (or connecting).
      const left = [...internals._clients]
      for (const client of left) destroyClient(client)
      // The pool waits for these clients to be released, which may never happen: forget them so that it
      // ends now. A later `client.release()` by the application is harmless (pg-pool ends the client again).
      internals._clients = internals._clients.filter((client) => !left.includes(client))
      if (pool.ending && !pool.ended) internals._pulseQueue()
      return left.length
    },
  }
}

const noop = () => {}

/**
 * Destroys a client's connection at once, without waiting for PostgreSQL (which may be gone): its socket
 * (`client.connection.stream`, private) is destroyed, and its pending queries fail with "Connection
 * terminated…". Without that socket to reach (another pg version), falls back to `client.end()`, which asks
 * PostgreSQL to end the session and closes the socket. The `error` event this raises is swallowed, since
 * checked-out clients have no pool listener and an unhandled `error` would crash the process.
 */
export function destroyClient(client: PoolClient): void {
  client.on('error', noop)
  const stream = (client as unknown as { connection?: { stream?: { destroy?: unknown } } }).connection?.stream
  if (stream && typeof stream.destroy === 'function') (stream.destroy as () => void).call(stream)
  else void Promise.resolve(client.end()).catch(noop)
}
