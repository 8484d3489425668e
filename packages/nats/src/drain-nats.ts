import type { Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  type Registration,
  registerTask,
  requireClient,
  requireShutdown,
  type Settled,
  settleBy,
  sleep,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import type { NatsConnectionLike } from './client.js'
import { runningDrains } from './consume.js'
import { NATS_DEFAULTS } from './defaults.js'
import { NatsDrainFailedError, NatsDrainTimeoutError } from './errors.js'
import { isConnected } from './internals.js'

/**
 * Options of {@link drainNats}: the task options every adapter takes (`name`, `phase`, `timeoutMs` — how long
 * `drain()` may take — and `critical`), defaults in {@link NATS_DEFAULTS}`.drain`.
 */
export type DrainNatsOptions = AdapterTaskOptions

const WHERE = 'drainNats'
const CONNECTION_METHODS = ['drain', 'close', 'flush', 'closed', 'isClosed', 'isDraining'] as const

/**
 * Drains the NATS connection `nc` at shutdown (the `close` phase by default) within its budget: nats.js's
 * `drain()` — every subscription drained, then what is buffered for publishing flushed, then the connection
 * closed — bounded by the task's budget. When it has not completed shortly before the deadline (the server
 * unreachable, typically) the connection is closed with `close()` and the task fails with
 * `NatsDrainTimeoutError`; when nats.js rejects it, with `NatsDrainFailedError`. A connection already closed
 * is left alone; one already draining is waited for.
 *
 * The consumers registered with `consume` on the same coordinator are waited for first (they need the
 * connection for their acks and naks), for at most half of this task's budget — which matters only when both
 * are put in the same phase.
 *
 * `drain()` alone does not wait for the messages a subscription had buffered to be handled (nats.js resolves
 * once the server has confirmed the UNSUB): register each subscription and consumer with `consume` for that.
 *
 * @returns the {@link Registration}: `name`, `remove()` and `[Symbol.dispose]`. The same connection given to
 *   `drainNats` twice on one coordinator throws `DuplicateRegistrationError`.
 */
export function drainNats(shutdown: Shutdown, nc: NatsConnectionLike, options?: DrainNatsOptions): Registration {
  requireShutdown(WHERE, shutdown, 'drainNats(shutdown, nc, options?)')
  requireClient(`nc argument of ${WHERE}`, nc, 'a NatsConnection of nats.js', CONNECTION_METHODS)
  checkOptions(WHERE, options, TASK_OPTION_KEYS)
  const task = taskOptions(WHERE, options, NATS_DEFAULTS.drain)
  const run = async (signal: AbortSignal, context: TaskContext) => {
    const { clock } = context
    const name = context.name
    const timing = { clock, signal }
    // Consumers of the same phase start in the same turn as this task: let them register their drains first.
    await sleep(0, timing)
    const consumers = [...runningDrains(shutdown)]
    if (consumers.length > 0)
      await settleBy(Promise.allSettled(consumers), clock.now() + context.remainingMs() / 2, timing)
    if (nc.isClosed()) {
      shutdown.logger.info({ event: 'nats.closed', task: name }, `${name}: the connection was closed already`)
      return
    }
    const budgetMs = context.remainingMs()
    // A drain already going (the application's own) is waited for, not started again: nats.js would reject.
    const drained: Promise<unknown> = nc.isDraining() ? nc.closed() : nc.drain()
    let settled: Settled<unknown>
    try {
      settled = await settleBy(drained, context.stopAt(), timing)
    } catch (error) {
      const disconnected = isConnected(nc) === false
      await settleBy(nc.close(), context.deadline, timing).catch(() => {})
      throw new NatsDrainFailedError(error, disconnected)
    }
    if (!settled.done) {
      const disconnected = isConnected(nc) === false
      await settleBy(nc.close(), context.deadline, timing).catch(() => {})
      throw new NatsDrainTimeoutError(budgetMs, disconnected)
    }
    shutdown.logger.info({ event: 'nats.drained', task: name }, `${name}: connection drained and closed`)
  }
  return registerTask(shutdown, { where: WHERE, task, resource: nc, resourceLabel: 'this connection', run })
}
