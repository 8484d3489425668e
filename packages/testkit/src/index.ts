export { HELP, main } from './cli.js'
export { SIM_DEFAULTS } from './defaults.js'
export { parseDuration } from './duration.js'
export {
  SimulatorError,
  type SimulatorErrorCode,
  TESTKIT_ERROR_CODES,
  TESTKIT_WARNING_CODES,
  type TestkitErrorCode,
  type TestkitWarningCode,
} from './errors.js'
export type { ExecHookResult } from './exec-hook.js'
export { formatResult } from './format.js'
export type { PreStopResult } from './kubelet.js'
export type { LoadCounts } from './load.js'
export type { Duration, SimulationOptions } from './options.js'
export type { LameduckTimeline, LongRequests, SimulationProgress, SimulationResult } from './result.js'
export { simulateTermination } from './simulate.js'
