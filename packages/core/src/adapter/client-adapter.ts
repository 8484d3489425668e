import { InvalidOptionError } from '../errors.js'
import type { Shutdown } from '../shutdown.js'
import type { Registration } from '../task.js'
import { requireShutdown } from './options.js'
import {
  type AdapterTaskDefaults,
  type AdapterTaskOptions,
  type AdapterTaskSpec,
  checkedTaskOptions,
  registerTask,
} from './register.js'

// An adapter of one client, `fn(shutdown, client, options?)` — `closeRedis`, `closeEtcd`, `createLocks`,
// `createLease`: the coordinator argument, which a caller may swap with the client, and the registration
// of an adapter whose only options are the task options.

/** How {@link requireShutdownFirst} recognizes the adapter's client, given in the coordinator's place. */
export interface SwappedClient {
  /** What the message calls it: `'an ioredis client'`. */
  kind: string
  /** Whether `value` is one, by its shape. */
  looksLike: (value: unknown) => boolean
}

/**
 * The kit's `requireShutdown`, except that the adapter's client given first (the two arguments swapped) is
 * named as `client.kind`: "got an ioredis client (the coordinator comes first: closeRedis(shutdown, client,
 * options?))" — rather than by its constructor, which says little for some clients (ioredis' mixins show as
 * an EventEmitter).
 */
export function requireShutdownFirst(where: string, value: unknown, usage: string, client: SwappedClient): Shutdown {
  if (client.looksLike(value))
    throw new InvalidOptionError(
      `shutdown argument of ${where}`,
      `expected the coordinator createShutdown() returns; got ${client.kind} (the coordinator comes first: ${usage})`,
    )
  return requireShutdown(where, value, usage)
}

/**
 * Registers the task of an adapter of one client whose only options are the task options (`closeRedis`,
 * `closeEtcd`): any other key is refused, the four are filled in from `defaults`, and `run` is registered
 * with `registerTask`'s policy for `client` — the same client given twice to `where` on one coordinator
 * throws `DuplicateRegistrationError` ("this client is already registered").
 */
export function registerClientTask(
  shutdown: Shutdown,
  where: string,
  client: object,
  options: AdapterTaskOptions | undefined,
  defaults: AdapterTaskDefaults,
  run: AdapterTaskSpec['run'],
): Registration {
  const task = checkedTaskOptions(where, options, defaults)
  return registerTask(shutdown, { where, task, resource: client, resourceLabel: 'this client', run })
}
