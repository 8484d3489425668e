import type { Sink, SinkEntry } from '@lameduck/cache'
import { InvalidOptionError } from '@lameduck/core'
import { abortable, checkOptions, nonEmptyString } from '@lameduck/core/adapter'
import { requireRedisClient, text } from './arguments.js'
import { REDIS_DEFAULTS } from './defaults.js'
import { SinkWriteError } from './errors.js'
import type { RedisClient } from './scripts.js'

/** Options of {@link redisSink}. */
export interface RedisSinkOptions {
  /** Prepended to every key (or, with `hash`, to every field). Default: {@link REDIS_DEFAULTS}`.sinkKeyPrefix`. */
  keyPrefix?: string
  /** Write every entry as a field of this one hash (`HSET`) instead of as its own string key. Default: none. */
  hash?: string
}

/**
 * A write-behind cache `Sink` that writes each batch to Redis in one command: `MSET key value …`, or with
 * `hash` a single `HSET hash field value …`. Every write is an upsert, so a retried batch is harmless.
 * Rejects with `SinkWriteError` when the batch failed, and with the signal's reason when `signal` aborts
 * (writes already sent may still be applied).
 *
 * With a `Cluster` client, the keys of a batch must share a slot: put a hash tag in `keyPrefix` (e.g.
 * `'{cache}:'`), or use `hash`. Without either, creating the sink throws `InvalidOptionError` — every batch
 * would fail with `CROSSSLOT`.
 */
export function redisSink(client: RedisClient, options: RedisSinkOptions = {}): Sink {
  requireRedisClient('redisSink', client, ['mset', 'hset'])
  checkOptions('redisSink', options, SINK_OPTIONS)
  const keyPrefix = text('keyPrefix of redisSink', options.keyPrefix, REDIS_DEFAULTS.sinkKeyPrefix)
  const hash = options.hash === undefined ? undefined : nonEmptyString('hash of redisSink', options.hash)
  if ((client as { isCluster?: boolean }).isCluster && hash === undefined && !hasHashTag(keyPrefix))
    throw new InvalidOptionError(
      'keyPrefix of redisSink',
      `on a Redis Cluster the keys of a batch must share a slot: put a hash tag in keyPrefix (e.g. "${keyPrefix}{cache}:") or use \`hash\``,
    )
  return {
    async write(batch: readonly SinkEntry[], signal: AbortSignal): Promise<void> {
      signal?.throwIfAborted()
      if (batch.length === 0) return
      const args: string[] = new Array(batch.length * 2)
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i] as SinkEntry
        args[2 * i] = `${keyPrefix}${entry.key}`
        args[2 * i + 1] = entry.value
      }
      const sent: Promise<unknown> = hash === undefined ? client.mset(args) : client.hset(hash, ...args)
      try {
        await (signal ? abortable(sent, signal) : sent)
      } catch (error) {
        if (signal?.aborted && error === signal.reason) throw error
        throw new SinkWriteError(batch.length, batch.length, error)
      }
    },
  }
}

export const SINK_OPTIONS: readonly (keyof RedisSinkOptions)[] = ['keyPrefix', 'hash']

/** Whether every key starting with `prefix` hashes on a tag inside `prefix` (Redis Cluster's `{…}` rule). */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{')
  if (open === -1) return false
  const close = prefix.indexOf('}', open + 1)
  return close > open + 1
}
