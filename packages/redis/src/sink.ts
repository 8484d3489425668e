import type { Sink, SinkEntry } from '@lameduck/cache'
import { abortable, InvalidOptionError } from '@lameduck/core'
import { SinkWriteError } from './errors.js'
import type { RedisClient } from './scripts.js'
import { objectOrUndefined, optionalString } from './validate.js'

/** Options of {@link redisSink}. */
export interface RedisSinkOptions {
  /** Prepended to every key (or, with `hash`, to every field). Default: `''`. */
  keyPrefix?: string
  /** Write every entry as a field of this one hash (`HSET`) instead of as its own string key. Default: none. */
  hash?: string
}

/**
 * A write-behind cache `Sink` that writes each batch to Redis in one round trip: a single
 * `MSET key value …` per batch (a pipeline of `SET`s on a Cluster, where keys may live in different
 * slots), or with `hash` a single `HSET hash field value …`. Every write is an upsert,
 * so a retried batch is harmless. Rejects with `SinkWriteError` when any command of the batch failed,
 * and with the signal's reason when `signal` aborts (writes already sent may still be applied).
 *
 * With a `Cluster` client, string keys must share a slot per batch: give them a hash tag in `keyPrefix`
 * (e.g. `'{cache}:'`), or use `hash`.
 */
export function redisSink(client: RedisClient, options: RedisSinkOptions = {}): Sink {
  if (!client || typeof client.pipeline !== 'function')
    throw new InvalidOptionError('client', 'expected an ioredis client (Redis or Cluster)')
  objectOrUndefined('options', options)
  const keyPrefix = optionalString('keyPrefix', options.keyPrefix) ?? ''
  const hash = optionalString('hash', options.hash)
  if (hash === '') throw new InvalidOptionError('hash', 'expected a non-empty key')
  return {
    async write(batch: readonly SinkEntry[], signal: AbortSignal): Promise<void> {
      signal?.throwIfAborted()
      if (batch.length === 0) return
      if (hash === undefined && !(client as { isCluster?: boolean }).isCluster) {
        const args: string[] = new Array(batch.length * 2)
        for (let i = 0; i < batch.length; i++) {
          const entry = batch[i] as SinkEntry
          args[2 * i] = `${keyPrefix}${entry.key}`
          args[2 * i + 1] = entry.value
        }
        try {
          await (signal ? abortable(client.mset(args), signal) : client.mset(args))
        } catch (error) {
          if (signal?.aborted && error === signal.reason) throw error
          throw new SinkWriteError(batch.length, batch.length, error)
        }
        return
      }
      const pipeline = client.pipeline()
      if (hash === undefined) for (const { key, value } of batch) pipeline.set(`${keyPrefix}${key}`, value)
      else {
        const fields: Record<string, string> = {}
        for (const { key, value } of batch) fields[`${keyPrefix}${key}`] = value
        pipeline.hset(hash, fields)
      }
      const results = await (signal ? abortable(pipeline.exec(), signal) : pipeline.exec())
      if (!results) throw new SinkWriteError(batch.length, batch.length, new Error('the pipeline was discarded'))
      const errors = results.map(([error]) => error).filter((error) => error)
      if (errors.length > 0)
        throw new SinkWriteError(hash === undefined ? errors.length : batch.length, batch.length, errors[0])
    },
  }
}
