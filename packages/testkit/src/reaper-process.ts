import { type ChildProcess, fork } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { SIM_TIMINGS } from './defaults.js'
import type { ToReaper } from './reaper.js'

/**
 * The simulator's handle on the reaper (see reaper.ts): told each replica's process group, it SIGKILLs them
 * if this process dies before {@link ReaperProcess.done}. Best effort: a reaper that cannot start leaves the
 * simulation to its own cleanup.
 */
export class ReaperProcess {
  readonly #child: ChildProcess
  readonly #exited: Promise<void>

  /** @param file reaper.js of this build */
  constructor(file: string) {
    // The simulator's pid in its argv, so that `ps` tells which simulator a reaper guards.
    this.#child = fork(file, [String(process.pid)], {
      detached: true,
      // Nothing of the simulator's environment or flags (NODE_OPTIONS, --inspect, loaders): a bare node.
      env: { LAMEDUCK_SIM_REAPER: '1' },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    })
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', () => resolve())
      this.#child.on('error', () => resolve())
    })
    // Never what keeps the simulator's process alive.
    this.#child.unref()
    this.#child.channel?.unref()
  }

  /** Adds a replica's process group (its pid: each replica leads a group of its own). */
  watch(pgid: number | undefined): void {
    if (pgid !== undefined) this.#send({ type: 'watch', pgid })
  }

  /** The simulator has cleaned up by itself: the reaper exits without killing anything. */
  async done(): Promise<void> {
    this.#send({ type: 'done' })
    await this.#exit()
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL')
      await this.#exit()
    }
  }

  #exit(): Promise<unknown> {
    return Promise.race([this.#exited, delay(SIM_TIMINGS.reaperExitWaitMs)])
  }

  #send(message: ToReaper): void {
    // With a callback, a channel already closed is reported there rather than as an 'error' event.
    if (this.#child.connected) this.#child.send(message, () => {})
  }
}
