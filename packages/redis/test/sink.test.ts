import { redisSink } from '@lameduck/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { cleanup, client, runPrefix } from './helpers.js'

await describeWith('Redis', '@lameduck/redis redisSink', () => {
  const prefix = runPrefix()
  let redis: Redis
  let other: Redis
  const signal = new AbortController().signal

  beforeAll(() => {
    redis = client()
    other = client()
  })
  afterAll(() => cleanup(prefix))

  it('writes each entry as its own string key, one MSET per batch', async () => {
    const sink = redisSink(redis, { keyPrefix: `${prefix}s:` })
    const calls: number[] = []
    const mset = redis.mset.bind(redis)
    redis.mset = ((...args: Parameters<typeof redis.mset>) => {
      calls.push((args[0] as unknown as string[]).length / 2)
      return mset(...args)
    }) as typeof redis.mset
    try {
      const batch = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))
      await sink.write(batch, signal)
      expect(calls).toEqual([200])
      expect(await other.get(`${prefix}s:k0`)).toBe('v0')
      expect(await other.get(`${prefix}s:k199`)).toBe('v199')
      // Idempotent: the same batch again is harmless.
      await sink.write(batch, signal)
      expect(await other.get(`${prefix}s:k42`)).toBe('v42')
      await sink.write([], signal)
      expect(calls).toEqual([200, 200])
    } finally {
      redis.mset = mset as typeof redis.mset
    }
  })

  it('writes into one hash with hash mode', async () => {
    const sink = redisSink(redis, { hash: `${prefix}h` })
    await sink.write(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '{"x":2}' },
      ],
      signal,
    )
    expect(await other.hgetall(`${prefix}h`)).toEqual({ a: '1', b: '{"x":2}' })
  })

  it('rejects when a command of the batch fails', async () => {
    await other.set(`${prefix}not-a-hash`, 'string')
    const sink = redisSink(redis, { hash: `${prefix}not-a-hash` })
    await expect(sink.write([{ key: 'a', value: '1' }], signal)).rejects.toMatchObject({
      code: 'LAMEDUCK_ERR_REDIS_SINK_WRITE',
      message: expect.stringContaining('WRONGTYPE'),
    })
  })

  it('throws the reason of an already aborted signal and writes nothing', async () => {
    const sink = redisSink(redis, { keyPrefix: `${prefix}aborted:` })
    const controller = new AbortController()
    controller.abort(new Error('budget gone'))
    await expect(sink.write([{ key: 'a', value: '1' }], controller.signal)).rejects.toThrow('budget gone')
    expect(await other.exists(`${prefix}aborted:a`)).toBe(0)
  })
})
