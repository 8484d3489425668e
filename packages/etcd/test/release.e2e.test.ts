import { fileURLToPath } from 'node:url'
import type { Watcher } from 'etcd3'
import { afterAll, afterEach, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { describeWith } from '../../../test/support/services.js'
import { loggedReport, taskReport } from '../../../test/support/shutdown.js'
import { cleanUp, etcdClient, etcdHosts, PREFIX } from './helpers.js'

// The test: a real service holding a lock and a registration key on one lease gets a real SIGTERM;
// both keys are gone within a few milliseconds of its release phase (not at the TTL), and another process
// waiting for the lock has it right after. The control: the same service SIGKILLed — the keys stay until the
// TTL, which is what lameduck's revoke saves.
const fixture = fileURLToPath(new URL('./fixtures/leased-service.mjs', import.meta.url))
const children: RunningChild[] = []
const watchers: Watcher[] = []

afterEach(async () => {
  for (const child of children.splice(0)) child.dispose()
  await Promise.all(watchers.splice(0).map((w) => w.cancel()))
})
afterAll(cleanUp)

function start(prefix: string, env: Record<string, string> = {}): RunningChild {
  const child = spawnChild(process.execPath, [fixture], {
    env: { ETCD_HOSTS: etcdHosts(), PREFIX: prefix, ...env },
  })
  children.push(child)
  return child
}

/** Records every delete under `prefix` as the test process sees it: key, etcd revision, wall-clock ms. */
async function recordDeletes(prefix: string) {
  const deletes: { key: string; revision: number; at: number }[] = []
  const watcher = await etcdClient().watch().prefix(prefix).create()
  watchers.push(watcher)
  watcher.on('delete', (kv) =>
    deletes.push({ key: kv.key.toString(), revision: Number(kv.mod_revision), at: Date.now() }),
  )
  return deletes
}

const waitUntil = async (check: () => boolean, timeoutMs: number) => {
  const start = performance.now()
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

await describeWith('etcd', 'a service on an etcd lease, stopped by a real signal', () => {
  it('SIGTERM: the lock and the registration are gone within a few ms of the release phase; the waiting process takes the lock at once', async () => {
    const prefix = `${PREFIX}sigterm/`
    const deletes = await recordDeletes(prefix)
    const holder = start(prefix, { TTL: '30' })
    const ready = await holder.waitFor(/^ready:/, 15_000)
    const fence = Number(/fence (\d+)/.exec(ready)?.[1])
    const contender = start(prefix, { MODE: 'contender' })
    await contender.waitFor(/^waiting/, 15_000)
    await new Promise((resolve) => setTimeout(resolve, 200)) // it is polling for the lock now
    holder.child.kill('SIGTERM')
    const exit = await holder.exited
    const acquired = await contender.waitFor(/^acquired/, 10_000)

    const report = loggedReport(holder.stderr)
    expect(exit.code, holder.stderr.join('\n')).toBe(0)
    expect(report && taskReport(report, 'etcd-lease').outcome).toBe('ok')
    expect(report && taskReport(report, 'etcd-close').outcome).toBe('ok')
    const release = report?.phases.find((phase) => phase.name === 'release')
    expect(release).toBeDefined()
    await waitUntil(() => deletes.length >= 2, 2000)
    const lockDelete = deletes.find((d) => d.key === `${prefix}lock`)
    const keyDelete = deletes.find((d) => d.key === `${prefix}services/pod-1`)
    expect(lockDelete && keyDelete).toBeTruthy()
    // One revoke: both keys deleted at the same etcd revision.
    expect(lockDelete?.revision).toBe(keyDelete?.revision)
    const goneAfterMs = (lockDelete?.at ?? 0) - (release?.start ?? 0)
    const [, acquiredAt, newFence] = /^acquired (\d+) (\d+)/.exec(acquired) ?? []
    const takenAfterMs = Number(acquiredAt) - (lockDelete?.at ?? 0)
    console.log(
      `keys gone ${goneAfterMs} ms after the release phase started (TTL 30 000 ms); ` +
        `the other process had the lock ${takenAfterMs} ms after that`,
    )
    // "A few ms": bounded generously for a busy machine, and four orders of magnitude below the TTL.
    expect(goneAfterMs).toBeGreaterThanOrEqual(0)
    expect(goneAfterMs).toBeLessThan(300)
    expect(takenAfterMs).toBeLessThan(500)
    expect(Number(newFence)).toBeGreaterThan(fence)
  })

  it('control — SIGKILL, no revoke: the keys outlive the process until the lease’s TTL', async () => {
    const prefix = `${PREFIX}sigkill/`
    const deletes = await recordDeletes(prefix)
    const holder = start(prefix, { TTL: '3' })
    await holder.waitFor(/^ready:/, 15_000)
    const killedAt = Date.now()
    holder.child.kill('SIGKILL')
    await holder.exited
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const client = etcdClient()
    expect(await client.get(`${prefix}lock`).string()).not.toBeNull()
    expect(await client.get(`${prefix}services/pod-1`).string()).toBe('10.0.0.7:8080')
    await waitUntil(() => deletes.length >= 2, 6000)
    const goneAfterMs = Math.min(...deletes.map((d) => d.at)) - killedAt
    console.log(`without the revoke the keys went ${goneAfterMs} ms after the process died (TTL 3 000 ms)`)
    expect(goneAfterMs).toBeGreaterThan(1500)
  })
})
