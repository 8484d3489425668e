import { randomUUID } from 'node:crypto'
import { Etcd3 } from 'etcd3'
import { afterAll, afterEach, expect, it } from 'vitest'
import { type EtcdServer, etcdBinary, startEtcd } from '../support/etcd.js'
import { loggedReport, taskReport } from '../support/shutdown.js'
import { killChildrenAfterEach, spawnFixture } from './support.js'

// The etcd leader unreachable at the release phase. Each test has an etcd of its own (the shared one must
// not be hurt): started here, then killed (SIGKILL: connections reset, nothing listens) or frozen (SIGSTOP:
// connections stay open and nothing is answered — a hung leader, or a partition that drops packets) while
// the service is in its drain phase. The revoke cannot happen: the release task must still end within its
// budget, the process before its deadline, and the report must say that lease expiry is the fallback, with
// the TTL and the time by which the keys are gone — and they must then be gone by that time.
const GRACE_MS = 5000
const TTL_S = 4
const prefix = `lameduck-faults-etcd-${randomUUID().slice(0, 8)}/`
const leasedService = '../../../packages/etcd/test/fixtures/leased-service.mjs'
let etcd: EtcdServer | undefined

killChildrenAfterEach()

const binary = etcdBinary()
if (!binary && process.env.CI === 'true')
  throw new Error('the etcd fault tests need the etcd binary; CI=true requires it')
if (!binary) console.warn('skipping the etcd fault tests: no etcd binary (apt-get install etcd-server)')
const maybe = binary ? it : it.skip

afterEach(async () => {
  await etcd?.stop()
  etcd = undefined
})
afterAll(async () => {
  await etcd?.stop()
})

const hosts = (server: EtcdServer) => `${server.host}:${server.port}`

async function holdAndStop(fault: (server: EtcdServer) => Promise<void> | void) {
  etcd = await startEtcd()
  const child = spawnFixture(leasedService, {
    ETCD_HOSTS: hosts(etcd),
    PREFIX: prefix,
    TTL: String(TTL_S),
    GRACE_MS: String(GRACE_MS),
    HOLD_MS: '400',
    RELEASE_TIMEOUT_MS: '1000',
    CAMPAIGN: '1',
  })
  await child.waitFor(/^ready:/, 15_000)
  child.mark()
  child.child.kill('SIGTERM')
  await child.waitFor(/^phase drain/)
  await fault(etcd)
  const exit = await child.exited
  const report = loggedReport(child.stderr)
  const detail = `exit ${JSON.stringify(exit)}\nreport ${JSON.stringify(report)}\nstderr ${child.stderr.join('\n')}`
  expect(exit.signal, detail).toBeNull()
  expect(report, detail).toBeDefined()
  expect(exit.code, detail).toBe(1)
  expect(exit.elapsedMs, detail).toBeLessThan(GRACE_MS - 500)
  const task = taskReport(report!, 'etcd-lease')
  expect(task.outcome, detail).toBe('error')
  expect(task.code, detail).toBe('LAMEDUCK_ERR_ETCD_REVOKE_FAILED')
  expect(task.durationMs, detail).toBeLessThanOrEqual(task.budgetMs + 50)
  expect(task.error, detail).toMatch(
    new RegExp(
      `lease expiry is the fallback — its 1 lock\\(s\\), 1 registration\\(s\\) and 1 leadership\\(s\\) disappear at its TTL \\(${TTL_S} s\\), by \\S+Z at the latest`,
    ),
  )
  // The client is closed all the same.
  expect(taskReport(report!, 'etcd-close').outcome, detail).toBe('ok')
  const expiresBy = Date.parse(/by (\S+Z) at the latest/.exec(task.error ?? '')?.[1] ?? '')
  console.log(`report: ${task.error}`)
  return { task, expiresBy, detail }
}

maybe(
  'etcd frozen (SIGSTOP) at release: the revoke gets no answer; out within budget, the keys go at the TTL stated',
  async () => {
    const { task, expiresBy, detail } = await holdAndStop((server) => server.freeze())
    expect(task.error, detail).toMatch(/not revoked \(no answer within \d+ ms\)/)
    // etcd comes back: the lease expires by itself, by the time the report said.
    const server = etcd as EtcdServer
    server.process.kill('SIGCONT')
    const client = new Etcd3({ hosts: hosts(server) })
    try {
      const keys = () => client.getAll().prefix(prefix).keys()
      let gone = Number.POSITIVE_INFINITY
      for (let i = 0; i < 200; i++) {
        if ((await keys()).length === 0) {
          gone = Date.now()
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      console.log(`frozen leader: keys gone ${gone - expiresBy} ms from the time the report gave (TTL ${TTL_S} s)`)
      // Bounded with 500 ms to spare for this busy machine.
      expect(gone, detail).toBeLessThanOrEqual(expiresBy + 500)
    } finally {
      client.close()
    }
  },
)

maybe(
  'etcd killed (SIGKILL) at release: the revoke fails at once; out within budget, the report says lease expiry is the fallback',
  async () => {
    const { task, detail } = await holdAndStop((server) => server.kill())
    expect(task.error, detail).toMatch(/not revoked \(.*(UNAVAILABLE|No connection|ECONNREFUSED|DEADLINE).*\)/)
  },
)

maybe(
  'control — etcd3’s own lease.revoke() and client.close() against a hung etcd: the process never exits by itself; lameduck’s does',
  async () => {
    etcd = await startEtcd()
    const run = async (mode: 'etcd3' | 'lameduck') => {
      const child = spawnFixture('etcd-own-close.mjs', {
        ETCD_HOSTS: hosts(etcd as EtcdServer),
        PREFIX: prefix,
        MODE: mode,
      })
      await child.waitFor('ready', 15_000)
      ;(etcd as EtcdServer).freeze()
      child.child.kill('SIGTERM')
      const closed = await child.waitFor(/^closed/, 10_000)
      const closedAt = Number(closed.split(' ')[1])
      const exited = await Promise.race([
        child.exited.then(() => Date.now()),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 4000)),
      ])
      ;(etcd as EtcdServer).process.kill('SIGCONT')
      child.dispose()
      await child.exited
      return exited === undefined ? undefined : exited - closedAt
    }
    const own = await run('etcd3')
    const ours = await run('lameduck')
    console.log(
      `after client.close() against a frozen etcd: etcd3's Lease ${own === undefined ? 'still running 4 s later' : `exited after ${own} ms`}; lameduck's lease exited after ${ours} ms`,
    )
    expect(own).toBeUndefined()
    expect(ours).toBeDefined()
    expect(ours).toBeLessThan(3000)
  },
)
