import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse, Namespace } from 'etcd3'

// What this package uses of an etcd3 client, in one place. Only public API of etcd3: the builders
// (`if`, `put`, `get`, `getAll`, `delete`) and the raw lease RPCs of `leaseClient` — not etcd3's `Lease`
// class, whose keep-alive cannot be stopped against a hung etcd (see keep-alive.ts).

/** An etcd3 client (`new Etcd3(…)`) or one of its namespaces (`client.namespace('app/')`). */
export type EtcdClient = Etcd3 | Namespace

/** The keep-alive stream of one lease. */
export type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>

/** The methods `createLease` calls, checked by shape on the argument. */
export const LEASE_CLIENT_METHODS = ['if', 'put', 'get', 'getAll', 'delete'] as const

/** gRPC call options with a wall-clock deadline `ms` from now (gRPC deadlines are wall-clock `Date`s). */
export function deadlineIn(ms: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + Math.max(0, ms)) }
}
