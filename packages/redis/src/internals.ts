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
