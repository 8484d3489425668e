// An adapter for a plain TCP server (node:net), written on the adapter kit the way every lameduck adapter
// is. docs/writing-an-adapter.md shows this file; packages/core/test/writing-an-adapter.test.ts runs it.
import { Server as NetServer, type Server, type Socket } from 'node:net'
import { InvalidOptionError, LameduckError, type Registration, type Shutdown } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  describeArgument,
  duration,
  registerTask,
  requireShutdown,
  settleBy,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'

/** 1. Every default in one object (the README's table is checked against it). */
export const NET_DEFAULTS = {
  name: 'net-server',
  phase: 'drain',
  timeoutMs: 5_000,
  critical: true,
  /** How long clients get, after being asked to finish, before the remaining connections are ended. */
  endGraceMs: 1_000,
} as const

/** 2. A closed catalogue of codes, and an error class per failure. */
export const NET_ERROR_CODES = ['LAMEDUCK_ERR_NET_DRAIN_FORCED'] as const
export type NetErrorCode = (typeof NET_ERROR_CODES)[number]

export class NetDrainForcedError extends LameduckError {
  declare readonly code: NetErrorCode
  constructor(readonly forced: number) {
    super('LAMEDUCK_ERR_NET_DRAIN_FORCED', `${forced} connection(s) still open when the grace ran out were destroyed`)
  }
}

/** 3. The options: the shared task options plus the adapter's own. */
export interface CloseNetServerOptions extends AdapterTaskOptions {
  /** Default: {@link NET_DEFAULTS}.endGraceMs. */
  endGraceMs?: number
}

/** 4. The handle: a Registration (name, remove(), [Symbol.dispose]) plus what is the adapter's own. */
export interface NetServerRegistration extends Registration {
  /** After the run: how many connections were open at the drain, and how many had to be destroyed. */
  readonly stats: { open: number; forced: number } | undefined
}

const OPTIONS = [...TASK_OPTION_KEYS, 'endGraceMs'] as const

export function closeNetServer(
  shutdown: Shutdown,
  server: Server,
  options: CloseNetServerOptions = {},
): NetServerRegistration {
  // 5. Validate everything at once, for JavaScript callers too: one error code per mistake.
  const where = 'closeNetServer'
  requireShutdown(where, shutdown, 'closeNetServer(shutdown, server, options?)')
  if (!(server instanceof NetServer))
    throw new InvalidOptionError(
      `server argument of ${where}`,
      `expected a net.Server; got ${describeArgument(server)}`,
    )
  checkOptions(where, options, OPTIONS)
  const task = taskOptions(where, options, NET_DEFAULTS)
  const endGraceMs = duration(`endGraceMs of ${where}`, options.endGraceMs, NET_DEFAULTS.endGraceMs)

  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  server.on('connection', track)
  let stats: NetServerRegistration['stats']

  // 6. Register through the kit: the default name is numbered for a second server, the same server twice
  // throws DuplicateRegistrationError, and remove() takes the listener off again.
  const registration = registerTask(shutdown, {
    where,
    task,
    resource: server,
    resourceLabel: 'this server',
    onRemove: () => server.off('connection', track),
    // 7. Timing from the task's context: its clock, its deadline, its signal — never Date.now().
    async run(signal, context) {
      const open = sockets.size
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.end() // ask each client to finish: it sees the end of the stream
      const graceUntil = Math.min(context.clock.now() + endGraceMs, context.stopAt())
      const first = await settleBy(closed, graceUntil, { clock: context.clock, signal })
      if (first.done) {
        stats = { open, forced: 0 }
        return
      }
      // Still open when the grace ran out (or the budget did): destroy what is left, and say so.
      const forced = sockets.size
      for (const socket of sockets) socket.destroy()
      await settleBy(closed, context.deadline, { clock: context.clock })
      stats = { open, forced }
      if (forced > 0) throw new NetDrainForcedError(forced)
    },
  })
  return {
    name: registration.name,
    remove: registration.remove,
    [Symbol.dispose]: registration.remove,
    get stats() {
      return stats
    },
  }
}
