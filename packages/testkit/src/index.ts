export { HELP, main } from './cli.js'
export { SIM_DEFAULTS } from './defaults.js'
export { parseDuration } from './duration.js'
export { SimulatorError, type SimulatorErrorCode } from './errors.js'
export { formatResult } from './format.js'
export type { PreStopResult } from './kubelet.js'
export type { LoadCounts } from './load.js'
export {
  type Duration,
  type LameduckTimeline,
  type SimulationOptions,
  type SimulationProgress,
  type SimulationResult,
  simulateTermination,
} from './simulate.js'
