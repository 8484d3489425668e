import type { ChainableCommander, Cluster, Redis } from 'ioredis'

/** Any ioredis client: a single connection or a cluster. */
export type RedisClient = Redis | Cluster

/**
 * `SET lock token NX PX ttl`, and only when that succeeded `INCR fence`: one atomic step, so a fencing
 * token is handed out exactly once per acquisition. Replies the fencing token, or nil when held.
 * KEYS: lock, fence. ARGV: token, ttl.
 */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
`

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
