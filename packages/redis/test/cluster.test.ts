import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { closeRedis, createLocks, redisSink } from '@lameduck/redis'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { runPrefix } from './helpers.js'

// A real three-node Redis Cluster, started from the machine's redis-server for this file only: the cluster
// paths of the adapters (hash tags, releases one by one instead of a pipeline, QUIT on every node) run
// against the real thing, not a mock.
const run = promisify(execFile)
const redisServer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
const missing = redisServer.error ? 'redis-server is not on PATH' : undefined
if (missing && process.env.CI === 'true') throw new Error(`Redis Cluster tests: ${missing}; CI=true requires it`)
if (missing) console.warn(`skipping "@lameduck/redis on a Redis Cluster": ${missing} (under CI=true this fails)`)

/** Free ports whose cluster-bus port (+10000) is free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
  const ports: number[] = []
  for (let attempt = 0; attempt < 200 && ports.length < count; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    if (!ports.includes(port) && (await free(port)) && (await free(port + 10_000))) ports.push(port)
  }
  if (ports.length < count) throw new Error('no free ports for a Redis Cluster')
  return ports
}

;(missing ? describe.skip : describe)('@lameduck/redis on a Redis Cluster', () => {
  const prefix = runPrefix()
  const nodes: ChildProcess[] = []
  let dir: string
  let ports: number[]
  const clusters: Cluster[] = []
  const cluster = () => {
    const client = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    )
    clusters.push(client)
    return client
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lameduck-cluster-'))
    ports = await clusterPorts(3)
    for (const port of ports)
      nodes.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            dir,
          ],
          { stdio: 'ignore' },
        ),
      )
    // Bounded: each node answers PING within 5 s, the cluster reports ok within 10 s.
    for (const port of ports)
      for (let i = 0; ; i++) {
        const ping = await run('redis-cli', ['-p', String(port), 'ping']).catch(() => ({ stdout: '' }))
        if (ping.stdout.trim() === 'PONG') break
        if (i === 50) throw new Error(`cluster node on ${port} did not start`)
        await delay(100)
      }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    for (let i = 0; ; i++) {
      const states = await Promise.all(
        ports.map((port) => run('redis-cli', ['-p', String(port), 'cluster', 'info']).then((r) => r.stdout)),
      )
      if (states.every((info) => info.includes('cluster_state:ok'))) break
      if (i === 100) throw new Error('the Redis Cluster did not reach cluster_state:ok')
      await delay(100)
    }
  }, 30_000)

  afterAll(async () => {
    for (const client of clusters) client.disconnect()
    for (const node of nodes) node.kill('SIGKILL')
    await Promise.all(nodes.map((node) => (node.exitCode === null ? new Promise((r) => node.once('exit', r)) : null)))
    rmSync(dir, { recursive: true, force: true })
  })

  it('holds locks whose keys live on every node, and releases all of them at shutdown', async () => {
    const redis = cluster()
    const shutdown = testShutdown()
    const locks = createLocks(shutdown, redis, { keyPrefix: prefix })
    // The braces keep each lock's key and its fence key in one slot; the 60 locks spread over the nodes.
    const held = await Promise.all(
      Array.from({ length: 60 }, (_, i) => locks.acquire(`{order:${i}}`, { ttlMs: 30_000 })),
    )
    const slots = new Set(await Promise.all(held.map((lock) => redis.cluster('KEYSLOT', lock.key) as Promise<number>)))
    const owners = new Set(
      [...slots].map((slot) => {
        const node = redis.slots[slot]?.[0]
        return node
      }),
    )
    expect(owners.size).toBe(3)
    for (const lock of held) expect(await redis.get(`${prefix}${lock.key}`)).toBe(lock.token)

    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(taskReport(report, 'redis-locks').outcome).toBe('ok')
    for (const lock of held) expect(await redis.exists(`${prefix}${lock.key}`)).toBe(0)
    // The fencing counters stay: the next holder of a key gets a larger fence.
    const again = createLocks(testShutdown(), redis, { keyPrefix: prefix })
    const next = await again.acquire('{order:0}', { ttlMs: 1000 })
    expect(next.fence).toBeGreaterThan(held[0]!.fence)
    await next.release()
  })

  it('a lock key without a hash tag fails with CROSSSLOT, as the README says', async () => {
    const locks = createLocks(testShutdown(), cluster(), { keyPrefix: prefix })
    await expect(locks.acquire('no-tag', { ttlMs: 1000 })).rejects.toThrow(/CROSSSLOT/)
  })

  it('redisSink: MSET under a hash-tagged prefix, HSET with `hash`; an untagged prefix is refused up front', async () => {
    const redis = cluster()
    const tagged = redisSink(redis, { keyPrefix: `${prefix}{cache}:` })
    const batch = Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))
    await tagged.write(batch, new AbortController().signal)
    expect(await redis.mget(`${prefix}{cache}:k0`, `${prefix}{cache}:k1999`)).toEqual(['v0', 'v1999'])

    const hashed = redisSink(redis, { hash: `${prefix}hash` })
    await hashed.write(batch, new AbortController().signal)
    expect(await redis.hlen(`${prefix}hash`)).toBe(2000)
    // A failed command is a SinkWriteError (here: the hash key holds a string).
    await redis.set(`${prefix}not-a-hash`, 'x')
    const wrong = redisSink(redis, { hash: `${prefix}not-a-hash` })
    await expect(wrong.write(batch.slice(0, 10), new AbortController().signal)).rejects.toMatchObject({
      code: 'LAMEDUCK_ERR_REDIS_SINK_WRITE',
      failed: 10,
      message: expect.stringMatching(/WRONGTYPE/),
    })

    // Keys of one batch would land in different slots: every write would fail with CROSSSLOT.
    expect(() => redisSink(redis, { keyPrefix: prefix })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION', message: expect.stringMatching(/hash tag/) }),
    )
    expect(() => redisSink(redis, { keyPrefix: `${prefix}{}:` })).toThrow(/hash tag/)
  })

  it('closeRedis quits every node of the cluster', async () => {
    const redis = cluster()
    await redis.set(`${prefix}{close}`, '1')
    const shutdown = testShutdown()
    closeRedis(shutdown, redis, { timeoutMs: 2000 })
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(redis.status).toBe('end')
    for (const node of redis.nodes()) expect(node.status).toBe('end')
  })
})
