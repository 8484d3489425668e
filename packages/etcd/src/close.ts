import type { Shutdown } from '@lameduck/core'
import { type AdapterTaskOptions, type Registration, registerClientTask } from '@lameduck/core/adapter'
import type { Etcd3 } from 'etcd3'
import { requireClosableClient, requireCoordinator } from './arguments.js'
import { ETCD_DEFAULTS } from './defaults.js'

/**
 * Options of {@link closeEtcd}: the task options every adapter takes, defaults in {@link ETCD_DEFAULTS}`.close`.
 */
export type CloseEtcdOptions = AdapterTaskOptions

/**
 * Closes `client` at shutdown (the `close` phase by default, after the lease's revoke in `release`):
 * `client.close()`, which closes its gRPC channels. Requests still in flight then fail with etcd3's
 * `ClientClosedError`.
 *
 * @returns the {@link Registration}. The same client given to `closeEtcd` twice on one coordinator throws
 *   `DuplicateRegistrationError`.
 */
export function closeEtcd(shutdown: Shutdown, client: Etcd3, options?: CloseEtcdOptions): Registration {
  requireCoordinator('closeEtcd', shutdown, 'closeEtcd(shutdown, client, options?)')
  requireClosableClient('closeEtcd', client)
  return registerClientTask(shutdown, 'closeEtcd', client, options, ETCD_DEFAULTS.close, (_signal, context) => {
    client.close()
    shutdown.logger.info({ event: 'etcd.closed', task: context.name }, `${context.name}: client closed`)
  })
}
