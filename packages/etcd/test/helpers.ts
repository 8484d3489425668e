import { randomUUID } from 'node:crypto'
import { Etcd3 } from 'etcd3'
import { ETCD_URL } from '../../../test/support/services.js'

/** A key prefix of its own for each test file run: the etcd may be shared (`.ci/run`'s, a developer's). */
export const PREFIX = `lameduck-test-${randomUUID().slice(0, 8)}/`

/** etcd3 wants `host:port`; ETCD_URL is a URL (set by `describeWith('etcd', …)` when it started one). */
export function etcdHosts(url = process.env.ETCD_URL ?? ETCD_URL): string {
  const { hostname, port } = new URL(url)
  return `${hostname}:${port || 2379}`
}

const clients = new Set<Etcd3>()

/** A client for the tests (closed by `closeClients()`). */
export function etcdClient(url?: string): Etcd3 {
  const client = new Etcd3({ hosts: etcdHosts(url) })
  clients.add(client)
  return client
}

/** Closes every client the file made and deletes what it wrote under its prefix. */
export async function cleanUp(): Promise<void> {
  const [first] = clients
  if (first)
    await first
      .delete()
      .prefix(PREFIX)
      .exec()
      .catch(() => {})
  if (first)
    await first
      .delete()
      .prefix(`election/${PREFIX}`)
      .exec()
      .catch(() => {})
  for (const client of clients) client.close()
  clients.clear()
}

/** Milliseconds waited until `check()` is true, polling every 5 ms, or throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return performance.now() - start
}
