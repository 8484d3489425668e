import { createRequire } from 'node:module'
import { drainGrpcServer, GRPC_DEFAULTS } from '@lameduck/grpc'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'
import { grpc } from './helpers.js'

// Real servers that never bind: registering adds the health service and listens to nothing yet, and the
// drain of a server that never bound is over at once.
const cjs = createRequire(import.meta.url)('@lameduck/grpc') as typeof import('@lameduck/grpc')

describeAdapterContract('@lameduck/grpc', [
  {
    where: 'drainGrpcServer',
    defaults: GRPC_DEFAULTS.drain,
    resource: () => new grpc.Server(),
    register: (shutdown, server, options) => drainGrpcServer(shutdown, server as grpc.Server, options),
    registerCommonJs: (shutdown, server) => cjs.drainGrpcServer(shutdown, server as grpc.Server),
    members: ['server', 'health', 'inFlight', 'connections', 'stats'],
    dispose: (server) => (server as grpc.Server).forceShutdown(),
  },
])
