import { afterAll, describe } from 'vitest'
import { etcdBinary, sharedEtcd, stopSharedEtcd } from './etcd.js'

/** Connection strings of the real services the adapter tests use (never mocks). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
/**
 * etcd's client URL. etcd does not run on these machines by itself: `.ci/run` starts one (and exports
 * ETCD_URL); when it is unreachable, `describeWith('etcd', …)` starts a private one for the test file
 * (test/support/etcd.ts) and points ETCD_URL at it. This default is etcd's own port.
 */
export const ETCD_URL = process.env.ETCD_URL ?? 'http://127.0.0.1:2379'

interface ServiceEntry {
  variable: string
  url: () => string
  /**
   * Starts a private instance for the test file when the URL is unreachable, and returns how to stop it;
   * or says why it cannot (no binary). Only for the services that do not run on these machines by themselves.
   */
  start?: () => Promise<{ url: string; stop: () => Promise<void> } | { why: string }>
}

/** Every real service a test may need: the variable that points at it, and its URL. */
const SERVICES: Record<'Redis' | 'PostgreSQL' | 'RabbitMQ' | 'NATS' | 'etcd', ServiceEntry> = {
  Redis: { variable: 'REDIS_URL', url: () => REDIS_URL },
  PostgreSQL: { variable: 'DATABASE_URL', url: () => DATABASE_URL },
  RabbitMQ: { variable: 'AMQP_URL', url: () => AMQP_URL },
  NATS: { variable: 'NATS_URL', url: () => NATS_URL },
  etcd: {
    variable: 'ETCD_URL',
    url: () => process.env.ETCD_URL ?? ETCD_URL,
    async start() {
      if (!etcdBinary()) return { why: 'no etcd binary to start one (apt-get install etcd-server)' }
      const server = await sharedEtcd()
      return { url: server.url, stop: stopSharedEtcd }
    },
  },
}

export type Service = keyof typeof SERVICES

const probed = new Map<string, Promise<string | undefined>>()

/** Resolves to undefined when reachable, or to the reason it is not. */
function probe(name: string, url: string): Promise<string | undefined> {
  let result = probed.get(url)
  if (!result) {
    const { hostname, port } = new URL(url)
    result = import('node:net').then(
      ({ connect }) =>
        new Promise<string | undefined>((resolve) => {
          const socket = connect({ host: hostname, port: Number(port) })
          const timer = setTimeout(() => {
            socket.destroy()
            resolve(`${name} at ${hostname}:${port} did not answer within 2 s`)
          }, 2000)
          socket.once('connect', () => {
            clearTimeout(timer)
            socket.destroy()
            resolve(undefined)
          })
          socket.once('error', (error: NodeJS.ErrnoException) => {
            clearTimeout(timer)
            resolve(`${name} at ${hostname}:${port} is unreachable (${error.code ?? error.message})`)
          })
        }),
    )
    probed.set(url, result)
  }
  return result
}

/**
 * `describe` for tests that need a real service. Unreachable outside CI: the suite is skipped with one
 * line saying why. Unreachable under CI=true: the suite fails. etcd unreachable: a private one is started
 * for the file when the `etcd` binary is there (and stopped after it), so only a missing binary skips.
 */
export async function describeWith(services: Service | Service[], title: string, body: () => void): Promise<void> {
  for (const service of Array.isArray(services) ? services : [services]) {
    const { variable, url, start } = SERVICES[service]
    let why = await probe(service, url())
    if (why && start) {
      const started = await start().catch((error: Error) => ({ why: `starting one failed: ${error.message}` }))
      if ('url' in started) {
        afterAll(started.stop)
        why = await probe(service, started.url)
      } else why = `${why}, and ${started.why}`
    }
    if (why && process.env.CI !== 'true') {
      console.warn(`skipping "${title}": ${why} (set ${variable}; under CI=true this fails)`)
      describe.skip(title, body)
      return
    }
    if (why) throw new Error(`${title}: ${why}; CI=true requires it`)
  }
  describe(title, body)
}
