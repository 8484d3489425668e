export { HELP, main } from './cli.js'
export { SIM_DEFAULTS } from './defaults.js'
export { checkManifests, type DoctorOptions, type DoctorResult } from './doctor.js'
export { DOCTOR_HELP, doctorMain } from './doctor-cli.js'
export { DOCTOR_DEFAULTS } from './doctor-defaults.js'
export { DoctorError, type DoctorErrorCode } from './doctor-errors.js'
// The finding codes, the plan-dependent ones, and the finding's type: the whole module is public.
export * from './doctor-findings.js'
export {
  type DoctorDrainDelay,
  type DoctorHttpOptions,
  type DoctorPlan,
  type DoctorPlanHttp,
  doctorPlan,
  parseDoctorPlan,
  readDoctorPlan,
  writeDoctorPlan,
} from './doctor-plan.js'
export { type ManifestSource, readManifestSources } from './doctor-yaml.js'
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
export type { LameduckTimeline, LongRequests, Readiness, SimulationProgress, SimulationResult } from './result.js'
export type { ServiceDrainDelay, ServiceTask } from './service-report.js'
export { simulateTermination } from './simulate.js'
export type { WsCounts } from './ws-load.js'
