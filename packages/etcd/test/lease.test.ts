import { afterAll, expect, it } from 'vitest'
import { describeWith } from '../../../test/support/services.js'
import { memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { createLease, EtcdLockTimeoutError, EtcdShuttingDownError, LeaseLostError } from '../src/index.js'
import { cleanUp, etcdClient, PREFIX, until } from './helpers.js'

afterAll(cleanUp)

await describeWith('etcd', 'createLease against a real etcd', () => {
  it('revokes the lease at the release phase: the lock, the registration and the leadership go in one revision', async () => {
    const client = etcdClient()
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger })
    const lease = createLease(shutdown, client, { ttlSeconds: 30 })
    const lock = await lease.lock(`${PREFIX}lock/a`)
    const registered = await lease.register(`${PREFIX}services/api/pod-1`, '10.0.0.7:8080')
    const leader = await lease.campaign(`${PREFIX}leader`, 'pod-1')
    expect(lease.held()).toEqual([lock])
    expect(lease.registrations()).toEqual([registered])
    expect(lease.leaderships()).toEqual([leader])
    expect(lock.leaseId).toBe(await lease.id())
    expect(lock.fence).toBeGreaterThan(0)
    // etcd3's own election API sees this process lead.
    expect(await client.election(`${PREFIX}leader`).leader()).toBe('pod-1')

    const report = await shutdown.shutdown('test')
    expect(taskReport(report, 'etcd-lease').outcome).toBe('ok')
    expect(await lock.release()).toBe('released')
    expect(await registered.release()).toBe('released')
    expect(await leader.resign()).toBe('released')
    expect(lease.held()).toEqual([])
    const found = await client.getAll().prefix(PREFIX).keys()
    expect(found).toEqual([])
    expect(await client.election(`${PREFIX}leader`).leader()).toBeUndefined()
    const revoked = logger.entries.find((e) => e.fields.event === 'etcd.lease.revoked')
    expect(revoked?.fields).toMatchObject({ outcome: 'revoked', locks: 1, registrations: 1, leaderships: 1 })
    expect(revoked?.fields.revision).toBeGreaterThan(lock.fence)
  })

  it('locks exclude each other across leases; the fence grows with each holder; waitMs waits for the release', async () => {
    const client = etcdClient()
    const [one, two] = [testShutdown(), testShutdown()]
    const a = createLease(one, client)
    const b = createLease(two, etcdClient())
    const key = `${PREFIX}lock/b`
    const first = await a.lock(key)
    await expect(b.lock(key)).rejects.toBeInstanceOf(EtcdLockTimeoutError)
    await expect(a.lock(key)).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_ETCD_LOCK_TIMEOUT', ownLease: true })
    const waiting = b.lock(key, { waitMs: 5000 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await first.release()).toBe('released')
    expect(await first.release()).toBe('released')
    const second = await waiting
    expect(second.fence).toBeGreaterThan(first.fence)
    // Deleted behind its back: the release finds it gone and deletes nothing.
    await client.delete().key(key).exec()
    const third = await a.lock(key)
    expect(await second.release()).toBe('lost')
    expect(await client.get(key).string()).not.toBeNull()
    expect(third.fence).toBeGreaterThan(second.fence)
    await Promise.all([one.shutdown('test'), two.shutdown('test')])
    expect(await client.get(key).string()).toBeNull()
  })

  it('interoperates with etcd3 client.lock(key): each excludes the other', async () => {
    const client = etcdClient()
    const shutdown = testShutdown()
    const lease = createLease(shutdown, client)
    const key = `${PREFIX}lock/etcd3`
    const theirs = await client.lock(key).ttl(5).acquire()
    await expect(lease.lock(key)).rejects.toBeInstanceOf(EtcdLockTimeoutError)
    await theirs.release()
    const ours = await lease.lock(key)
    await expect(client.lock(key).acquire()).rejects.toThrow(/Failed to acquire a lock/)
    await ours.release()
    await shutdown.shutdown('test')
  })

  it('registering a key again on the lease updates it; release deletes it only while it is the lease’s', async () => {
    const client = etcdClient()
    const shutdown = testShutdown()
    const lease = createLease(shutdown, client)
    const key = `${PREFIX}services/x`
    const first = await lease.register(key, 'one')
    const again = await lease.register(key, 'two')
    expect(again).toBe(first)
    expect(again.value).toBe('two')
    expect(await client.get(key).string()).toBe('two')
    await client.put(key).value('someone else').exec()
    expect(await first.release()).toBe('lost')
    expect(await client.get(key).string()).toBe('someone else')
    await client.delete().key(key).exec()
    await shutdown.shutdown('test')
  })

  it('elections: the next candidate leads as soon as the leader resigns; a candidate given up deletes its key', async () => {
    const client = etcdClient()
    const election = `${PREFIX}election-b`
    const shutdowns = [testShutdown(), testShutdown(), testShutdown()]
    const [a, b, c] = shutdowns.map((s) => createLease(s, etcdClient(), { electionPollMs: 20 }))
    const leader = await a!.campaign(election, 'a')
    let bLeads = false
    const next = b!.campaign(election, 'b').then((l) => {
      bLeads = true
      return l
    })
    const controller = new AbortController()
    const given = c!.campaign(election, 'c', { signal: controller.signal })
    await until(async () => (await client.getAll().prefix(`election/${election}/`).count()) === 3)
    expect(bLeads).toBe(false)
    controller.abort(new Error('given up'))
    await expect(given).rejects.toThrow('given up')
    await until(async () => (await client.getAll().prefix(`election/${election}/`).count()) === 2)
    expect(await leader.resign()).toBe('released')
    const second = await next
    expect(second.fence).toBeGreaterThan(leader.fence)
    expect(await client.election(election).leader()).toBe('b')
    // Resigned, a campaigns again behind b; b's lease revoked at its shutdown hands over at once.
    const again = a!.campaign(election, 'a again')
    await until(async () => (await client.getAll().prefix(`election/${election}/`).count()) === 2)
    await shutdowns[1]!.shutdown('test')
    expect((await again).fence).toBeGreaterThan(second.fence)
    expect(await client.election(election).leader()).toBe('a again')
    await Promise.all(shutdowns.map((s) => s.shutdown('test')))
    expect(await client.getAll().prefix(`election/${election}/`).count()).toBe(0)
  })

  it('from the first trigger: nothing new is taken, a waiting lock and a waiting campaign give up', async () => {
    const client = etcdClient()
    const holder = testShutdown()
    const holding = createLease(holder, client)
    const key = `${PREFIX}lock/c`
    const election = `${PREFIX}election-c`
    await holding.lock(key)
    await holding.campaign(election, 'holder')
    const shutdown = testShutdown({ drainDelayMs: 200 })
    const lease = createLease(shutdown, etcdClient())
    const waitingLock = lease.lock(key, { waitMs: 10_000 })
    const waitingCampaign = lease.campaign(election, 'waiting')
    await until(async () => (await client.getAll().prefix(`election/${election}/`).count()) === 2)
    const run = shutdown.shutdown('test')
    await expect(waitingLock).rejects.toBeInstanceOf(EtcdShuttingDownError)
    await expect(waitingCampaign).rejects.toBeInstanceOf(EtcdShuttingDownError)
    await expect(lease.lock(`${PREFIX}lock/other`)).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_ETCD_SHUTTING_DOWN' })
    await expect(lease.register(`${PREFIX}k`, 'v')).rejects.toBeInstanceOf(EtcdShuttingDownError)
    // The candidate key is deleted at once, not at the revoke: it never leads.
    await until(async () => (await client.getAll().prefix(`election/${election}/`).count()) === 1)
    await run
    await holder.shutdown('test')
  })

  it('a lease revoked behind its back is known lost at the next keep-alive: every signal aborts with LeaseLostError', async () => {
    const client = etcdClient()
    const shutdown = testShutdown()
    const lease = createLease(shutdown, client, { ttlSeconds: 3 })
    const lock = await lease.lock(`${PREFIX}lock/d`)
    const id = await lease.id()
    await client.leaseClient.leaseRevoke({ ID: id })
    // Keep-alives go every TTL / 3 = 1 s.
    await until(() => lock.signal.aborted, 4000)
    expect(lock.signal.reason).toBeInstanceOf(LeaseLostError)
    expect(lock.signal.reason).toMatchObject({ reason: 'expired', leaseId: id })
    expect(lease.signal?.aborted).toBe(true)
    expect(await lock.release()).toBe('lost')
    expect(lease.held()).toEqual([])
    // The next use grants a new lease.
    const next = await lease.lock(`${PREFIX}lock/d`)
    expect(next.leaseId).not.toBe(id)
    expect(lease.signal?.aborted).toBe(false)
    const report = await shutdown.shutdown('test')
    expect(taskReport(report, 'etcd-lease').outcome).toBe('ok')
  })

  it('a key attached to a lease etcd no longer knows: LeaseLostError (not etcd3’s error), and the next use grants a new lease', async () => {
    const client = etcdClient()
    const shutdown = testShutdown()
    // Keep-alives every 10 s: the revoke below is found by the next request, long before the next keep-alive.
    const lease = createLease(shutdown, client, { ttlSeconds: 30 })
    const id = await lease.id()
    await client.leaseClient.leaseRevoke({ ID: id })
    await expect(lease.register(`${PREFIX}services/gone`, 'v')).rejects.toMatchObject({
      code: 'LAMEDUCK_ERR_ETCD_LEASE_LOST',
      leaseId: id,
    })
    expect(lease.signal?.reason).toBeInstanceOf(LeaseLostError)
    const again = await lease.register(`${PREFIX}services/gone`, 'v')
    expect(again.leaseId).not.toBe(id)
    await shutdown.shutdown('test')
    expect(await client.get(`${PREFIX}services/gone`).string()).toBeNull()
  })

  it('keeps the lease alive past its TTL', async () => {
    const client = etcdClient()
    const shutdown = testShutdown()
    const lease = createLease(shutdown, client, { ttlSeconds: 2 })
    const key = `${PREFIX}services/alive`
    await lease.register(key, 'yes')
    await new Promise((resolve) => setTimeout(resolve, 3500))
    expect(await client.get(key).string()).toBe('yes')
    expect(lease.signal?.aborted).toBe(false)
    await shutdown.shutdown('test')
    expect(await client.get(key).string()).toBeNull()
  })
})
