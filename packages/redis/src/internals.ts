import type { RedisClient } from './scripts.js'

// Every read of ioredis internals, in one file: what each relies on, how it is detected, and what happens
// when a version of ioredis no longer has it. Everything else uses ioredis' public API.

/**
 * How many commands the client holds in its offline queue (sent while it was not connected; they go out at
 * the next connection — which, at shutdown, never comes). ioredis keeps no public count of them: this reads
 * the private `offlineQueue` (a Deque with a `length`, on `Redis` and `Cluster` alike, ioredis 5).
 *
 * @returns the count, or `undefined` when the client has no such queue to read (another version): the caller
 *   cannot tell whether commands were dropped, and says so instead of guessing.
 */
export function queuedOffline(client: RedisClient): number | undefined {
  const queue = (client as unknown as { offlineQueue?: { length?: unknown } }).offlineQueue
  const length = queue?.length
  return typeof length === 'number' && Number.isInteger(length) && length >= 0 ? length : undefined
}

/**
 * Rejects, with `error`, every command the client still holds (its offline queue and any sent without a
 * reply), through ioredis' `flushQueue(error)` (a method of `Redis` without an underscore but not in its
 * documentation, ioredis 5). Needed after `disconnect()` of a client that was waiting to reconnect: ioredis
 * then leaves it `reconnecting` and never settles those commands (redis/ioredis#2169) — their callers would
 * wait for ever.
 *
 * @returns whether it could: `false` when the client has no `flushQueue` (another version, a `Cluster`);
 *   those commands then stay pending.
 */
export function rejectQueued(client: RedisClient, error: Error): boolean {
  const flushQueue = (client as unknown as { flushQueue?: unknown }).flushQueue
  if (typeof flushQueue !== 'function') return false
  flushQueue.call(client, error)
  return true
}
