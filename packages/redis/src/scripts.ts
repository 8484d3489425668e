import type { ChainableCommander, Cluster, Redis } from 'ioredis'

/** Any ioredis client: a single connection or a cluster. */
export type RedisClient = Redis | Cluster

/** Suffix of the fence key: the fencing counter of lock key `k` lives at `k:fence`. */
export const FENCE_SUFFIX = ':fence'

/** Start of the error the acquire script replies when the fence key cannot be incremented. */
const FENCE_ERROR = 'LAMEDUCK_FENCE'

/**
 * `SET lock token NX PX ttl`, and only when that succeeded `INCR fence`: one atomic step, so a fencing
 * token is handed out exactly once per acquisition. Replies the fencing token, or nil when held. When the
 * fence key cannot be incremented (it holds no integer), the lock key is deleted again — it was free a moment
 * ago, in the same atomic step — and the script replies a `LAMEDUCK_FENCE <Redis error>` error: a failed
 * acquisition never leaves a lock behind. KEYS: lock, fence. ARGV: token, ttl.
 */
const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
local fence = redis.pcall('INCR', KEYS[2])
if type(fence) == 'table' and fence.err then
  redis.call('DEL', KEYS[1])
  return redis.error_reply('${FENCE_ERROR} ' .. fence.err)
end
return fence
`

/** The Redis error of an acquire that failed on the fence key, or undefined for any other failure. */
export function fenceFailure(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : undefined
  return message?.startsWith(`${FENCE_ERROR} `) ? message.slice(FENCE_ERROR.length + 1) : undefined
}

/** Extends the TTL only while the lock still holds our token. Replies 1, or 0 when lost. KEYS: lock. ARGV: token, ttl. */
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`

/** Deletes the lock only while it holds our token: never another holder's. Replies 1, or 0 when lost. KEYS: lock. ARGV: token. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

/** Names under which the scripts are defined on the client (ioredis `defineCommand`: EVALSHA, EVAL on NOSCRIPT). */
const NAMES = {
  acquire: 'lameduckLockAcquire',
  extend: 'lameduckLockExtend',
  release: 'lameduckLockRelease',
} as const

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>

/** The lock scripts, bound to one client. */
export interface LockScripts {
  acquire(lockKey: string, fenceKey: string, token: string, ttlMs: number): Promise<number | null>
  extend(lockKey: string, token: string, ttlMs: number): Promise<boolean>
  release(lockKey: string, token: string): Promise<boolean>
  /** Queues a release on a pipeline; its reply is 1 (released) or 0 (lost). */
  queueRelease(pipeline: ChainableCommander, lockKey: string, token: string): void
}

// The clients this copy of the package defined its scripts on. Not shared with another copy (the ESM and the
// CommonJS builds loaded side by side): a second `defineCommand` of the same script is harmless.
const defined = new WeakSet<object>()

export function lockScripts(client: RedisClient): LockScripts {
  if (!defined.has(client)) {
    client.defineCommand(NAMES.acquire, { numberOfKeys: 2, lua: ACQUIRE })
    client.defineCommand(NAMES.extend, { numberOfKeys: 1, lua: EXTEND })
    client.defineCommand(NAMES.release, { numberOfKeys: 1, lua: RELEASE })
    defined.add(client)
  }
  const commands = client as unknown as Record<string, ScriptCall>
  const call = (name: string, ...args: (string | number)[]) => (commands[name] as ScriptCall).apply(client, args)
  return {
    async acquire(lockKey, fenceKey, token, ttlMs) {
      const reply = await call(NAMES.acquire, lockKey, fenceKey, token, ttlMs)
      return reply === null || reply === undefined ? null : Number(reply)
    },
    async extend(lockKey, token, ttlMs) {
      return Number(await call(NAMES.extend, lockKey, token, ttlMs)) === 1
    },
    async release(lockKey, token) {
      return Number(await call(NAMES.release, lockKey, token)) === 1
    },
    queueRelease(pipeline, lockKey, token) {
      const queued = pipeline as unknown as Record<string, ScriptCall>
      ;(queued[NAMES.release] as ScriptCall).call(pipeline, lockKey, token)
    },
  }
}
