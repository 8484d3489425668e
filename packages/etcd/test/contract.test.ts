import { createRequire } from 'node:module'
import { closeEtcd, createLease, ETCD_DEFAULTS } from '@lameduck/etcd'
import { Etcd3 } from 'etcd3'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'

// Real clients pointed at a port nothing listens on: etcd3 connects lazily, the eager grant of createLease
// fails at once (refused), and a lease never granted has nothing to revoke.
const client = () => new Etcd3({ hosts: '127.0.0.1:1' })
// The CommonJS build, beside the ESM sources the tests import (build first).
const cjs = createRequire(import.meta.url)('@lameduck/etcd') as typeof import('@lameduck/etcd')

describeAdapterContract('@lameduck/etcd', [
  {
    where: 'createLease',
    defaults: ETCD_DEFAULTS.lease,
    resource: client,
    register: (shutdown, etcd, options) => createLease(shutdown, etcd as Etcd3, options),
    registerCommonJs: (shutdown, etcd) => cjs.createLease(shutdown, etcd as Etcd3),
    members: [
      'ttlSeconds',
      'id',
      'signal',
      'lock',
      'register',
      'campaign',
      'held',
      'registrations',
      'leaderships',
      'revoke',
    ],
    durations: {
      retryDelayMs: { positive: true },
      electionPollMs: { positive: true },
      requestTimeoutMs: { positive: true },
    },
    dispose: (etcd) => (etcd as Etcd3).close(),
  },
  {
    where: 'closeEtcd',
    defaults: ETCD_DEFAULTS.close,
    resource: client,
    register: (shutdown, etcd, options) => closeEtcd(shutdown, etcd as Etcd3, options),
    registerCommonJs: (shutdown, etcd) => cjs.closeEtcd(shutdown, etcd as Etcd3),
    members: [],
    dispose: (etcd) => (etcd as Etcd3).close(),
  },
])
