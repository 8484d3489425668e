export { abortable } from './abortable.js'
export type { KeptAlive } from './alive.js'
export type { BudgetPlan } from './budget.js'
export type { Clock } from './clock.js'
export { createShutdown } from './coordinator.js'
export { DEFAULTS, EXIT_CODES } from './defaults.js'
export type {
  AdaptiveDrainDelay,
  DrainDelayEnd,
  DrainDelayReport,
  ResolvedDrainDelay,
} from './drain-delay.js'
export { MAX_TIMER_MS, requireDuration } from './duration.js'
export {
  CORE_ERROR_CODES,
  CORE_WARNING_CODES,
  ConfigurationError,
  type CoreErrorCode,
  type CoreWarningCode,
  DuplicateTaskError,
  describeValue,
  HealthCheckTimeoutError,
  InvalidDurationError,
  InvalidOptionError,
  LameduckError,
  type LameduckErrorCode,
  type LameduckWarningCode,
  PhaseStartedError,
  StartupAbortedError,
  StartupClosedError,
  StartupTimeoutError,
  TaskAbandonedError,
  TaskOverrunError,
  TaskSkippedError,
  TaskTimeoutError,
  UncaughtDuringShutdownError,
  UnknownOptionError,
  UnknownPhaseError,
  UnknownProbeError,
  UnknownSignalError,
} from './errors.js'
export type { ExitFlushSpec } from './exit-flush.js'
export {
  type HealthChangeEvent,
  type HealthCheckFn,
  type HealthCheckOptions,
  type HealthCheckReport,
  type HealthCheckResult,
  type HealthRegistry,
  type HealthReport,
  type HealthState,
  PROBES,
  type Probe,
} from './health.js'
export { createJsonLogger, type Logger } from './logger.js'
export type { ResolvedOptions, ShutdownOptions } from './options.js'
export { isPhase, PHASES, type Phase } from './phases.js'
export type {
  PhaseReport,
  RunErrorRecord,
  ShutdownReport,
  TaskOutcome,
  TaskReport,
  TriggerKind,
  TriggerRecord,
} from './report.js'
export type { Shutdown, ShutdownEvents, ShutdownState, ShutdownWarning, TriggerOptions } from './shutdown.js'
export type {
  StartupRegistry,
  StartupReport,
  StartupState,
  StartupTaskContext,
  StartupTaskFn,
  StartupTaskOptions,
  StartupTaskOutcome,
  StartupTaskReport,
} from './startup.js'
export { type AbandonEvent, type Registration, registration, type TaskContext, type TaskSpec } from './task.js'
export { boolean, checkOptions, closest, isShutdown, nonEmptyString, orDefault } from './validate.js'
