// @lameduck/core/adapter — the kit every lameduck adapter is built on, public for third-party adapters.
// See docs/writing-an-adapter.md.
export { abortable } from '../abortable.js'
export type { Clock } from '../clock.js'
export { systemClock } from '../clock.js'
export { MAX_TIMER_MS, requireDuration } from '../duration.js'
export {
  ConfigurationError,
  describeValue,
  errorMessage,
  InvalidDurationError,
  InvalidOptionError,
  LameduckError,
} from '../errors.js'
export { worstOutcome } from '../report.js'
export { type Registration, registration } from '../task.js'
export { boolean, checkOptions, closest, hasMethods, isShutdown, orDefault, unknownFlag } from '../validate.js'
export { registerClientTask, requireShutdownFirst, type SwappedClient } from './client-adapter.js'
export { onFirstTrigger, TriggerStop } from './first-trigger.js'
export {
  type ClaimedRequest,
  claimRequests,
  handOverSocket,
  type RequestClaim,
  requestClaim,
  type SocketOwner,
  socketOwner,
} from './hand-over.js'
export { callHook } from './hook.js'
export { type HookErrorLog, hookErrorLogger } from './hook-error.js'
export {
  LOCK_RETRY_DEFAULTS,
  type LockRetry,
  type LockRetryOwner,
  type LockRetryWait,
  lockRetry,
} from './lock-retry.js'
export { optionKeys } from './option-keys.js'
export {
  count,
  describeArgument,
  duration,
  name,
  nonEmptyString,
  oneOf,
  optionalFunction,
  optionalObject,
  optionalSignal,
  phase,
  type ReleaseOutcome,
  requireClient,
  requireShutdown,
  string,
} from './options.js'
export { perResource, type ResourceLease } from './per-resource.js'
export {
  type AdapterTaskDefaults,
  type AdapterTaskOptions,
  type AdapterTaskSpec,
  addNumbered,
  checkedTaskOptions,
  claimResource,
  DuplicateRegistrationError,
  type ResolvedTaskOptions,
  type ResourceClaim,
  registerTask,
  TASK_OPTION_KEYS,
  taskOptions,
} from './register.js'
export { shadow } from './shadow.js'
export { shared } from './shared.js'
export { type SpreadOptions, type SpreadResult, spread, spreadWindow } from './spread.js'
export {
  type ConnectionCloseStats,
  type SpreadClose,
  type SpreadCloseOptions,
  type SpreadCloseSpec,
  type SpreadCloseStats,
  spreadClose,
} from './spread-close.js'
export {
  type LinkedSignal,
  linkSignals,
  type PollOptions,
  poll,
  type Settled,
  settleBy,
  sleep,
  type TimingOptions,
} from './timing.js'
export { isProbeTraffic, NOT_TRAFFIC_USER_AGENTS, type TrafficSource, trafficSource } from './traffic.js'
