import { LameduckError } from '@lameduck/core'

export type SimulatorErrorCode =
  | 'LAMEDUCK_ERR_SIM_COMMAND_NOT_FOUND'
  | 'LAMEDUCK_ERR_SIM_EXITED_AT_START'
  | 'LAMEDUCK_ERR_SIM_NEVER_LISTENED'
  | 'LAMEDUCK_ERR_SIM_PORT_IN_USE'
  | 'LAMEDUCK_ERR_SIM_REPLICA_CRASHED'
  | 'LAMEDUCK_ERR_SIM_ABORTED'
  | 'LAMEDUCK_ERR_SIM_SIGNAL_FAILED'

/** Why a simulation could not run to the end. The message says what to do about it. */
export class SimulatorError extends LameduckError {
  declare readonly code: SimulatorErrorCode

  constructor(
    code: SimulatorErrorCode,
    message: string,
    /** The replica's last output lines, when a replica is to blame. */
    readonly output: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
  }
}
