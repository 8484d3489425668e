import { orDefault, requireClient } from '@lameduck/core/adapter'
import { register as defaultRegistry, type Registry } from 'prom-client'

/**
 * The `registry` option of `where`: a prom-client `Registry`, checked by shape (another copy of
 * prom-client's is as good); prom-client's global registry when `undefined`.
 */
export function registryOption(where: string, value: unknown): Registry {
  return requireClient<Registry>(`registry of ${where}`, orDefault(value, defaultRegistry), 'a prom-client Registry', [
    'metrics',
    'registerMetric',
    'getSingleMetric',
    'removeSingleMetric',
  ])
}
