import type { Shutdown } from '@lameduck/core'
import { InvalidOptionError } from '@lameduck/core'
import { requireClient, requireShutdownFirst } from '@lameduck/core/adapter'
import type { Etcd3 } from 'etcd3'
import { type EtcdClient, LEASE_CLIENT_METHODS } from './client.js'

// The checks of this package's own arguments; every other option goes through the kit's validators.

/** Whether `value` looks like an etcd3 client or namespace: its builders and its raw lease RPCs. */
function isEtcd3(value: unknown): boolean {
  const v = value as Record<string, unknown> | null
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.getAll === 'function' &&
    typeof (v.leaseClient as Record<string, unknown> | undefined)?.leaseGrant === 'function'
  )
}

/** The kit's `requireShutdown`, except that an etcd3 client given first (the arguments swapped) is named as one. */
export function requireCoordinator(where: string, value: unknown, usage: string): Shutdown {
  return requireShutdownFirst(where, value, usage, { kind: 'an etcd3 client', looksLike: isEtcd3 })
}

/** The client argument of `createLease`: an etcd3 client (`new Etcd3(…)`) or a namespace of one. */
export function requireEtcdClient(where: string, value: unknown): EtcdClient {
  const client = requireClient<EtcdClient>(
    `client argument of ${where}`,
    value,
    "an etcd3 client (new Etcd3(…)) or a namespace of one (client.namespace('app/'))",
    LEASE_CLIENT_METHODS,
  )
  const leaseClient = (client as unknown as { leaseClient?: Record<string, unknown> }).leaseClient
  for (const method of ['leaseGrant', 'leaseRevoke', 'leaseKeepAlive'])
    if (typeof leaseClient?.[method] !== 'function')
      throw new InvalidOptionError(
        `client argument of ${where}`,
        `expected an etcd3 client whose leaseClient has ${method}(); got one without (etcd3 < 1.0?)`,
      )
  return client
}

/** The client argument of `closeEtcd`: an etcd3 client itself (a namespace cannot be closed). */
export function requireClosableClient(where: string, value: unknown): Etcd3 {
  return requireClient<Etcd3>(`client argument of ${where}`, value, 'an etcd3 client (new Etcd3(…))', [
    'close',
    ...LEASE_CLIENT_METHODS,
  ])
}
