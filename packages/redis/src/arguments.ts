import type { Shutdown } from '@lameduck/core'
import { duration, requireClient, requireShutdownFirst } from '@lameduck/core/adapter'
import type { RedisClient } from './scripts.js'

// The checks of this package's own arguments; every other option goes through the kit's validators.

/** Whether `value` is an ioredis client, by the shape every ioredis client has. */
function isIoredis(value: unknown): boolean {
  const v = value as Record<string, unknown> | null
  return v !== null && typeof v === 'object' && typeof v.status === 'string' && typeof v.defineCommand === 'function'
}

/**
 * The kit's `requireShutdown`, except that an ioredis client given first (the arguments swapped) is named as
 * one: ioredis' classes are mixins, whose constructor name ("EventEmitter") would say nothing.
 */
export function requireCoordinator(where: string, value: unknown, usage: string): Shutdown {
  return requireShutdownFirst(where, value, usage, { kind: 'an ioredis client', looksLike: isIoredis })
}

/**
 * The client argument of `where`: an ioredis client (`Redis` or `Cluster`) with the methods `where` calls.
 * Checked by shape: ioredis clients have `defineCommand`, which node-redis clients, pools and plain objects
 * lack, so the message names the first method missing.
 */
export function requireRedisClient(where: string, value: unknown, methods: readonly string[]): RedisClient {
  return requireClient<RedisClient>(
    `client argument of ${where}`,
    value,
    'an ioredis client (new Redis(…) or new Cluster(…))',
    ['defineCommand', ...methods],
  )
}

/**
 * A duration Redis takes in whole milliseconds and that cannot be 0 (a TTL, a retry delay): the kit's
 * positive `duration`, rounded up.
 */
export function wholeMs(option: string, value: unknown, fallback?: number): number {
  return Math.ceil(duration(option, value, fallback, { positive: true }))
}

/** The kit's `string` (a key prefix may be `''`). */
export { string as text } from '@lameduck/core/adapter'
