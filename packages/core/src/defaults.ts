import type { Phase } from './phases.js'

/**
 * Every default of `@lameduck/core`, kept in one place so that code and docs cannot disagree.
 * The README's option tables are checked against this object by a test.
 */
export const DEFAULTS = {
  /** Used when neither `gracePeriodMs` nor `TERMINATION_GRACE_PERIOD_SECONDS` is set (Kubernetes' own default). */
  gracePeriodMs: 30_000,
  /** Kept free before SIGKILL: the process must be gone by `gracePeriodMs - safetyMarginMs`. */
  safetyMarginMs: 1_000,
  /** Endpoint propagation in a cluster takes seconds; applies when `KUBERNETES_SERVICE_HOST` is set. */
  drainDelayMsInKubernetes: 5_000,
  /** Outside Kubernetes nobody routes by endpoints, so there is nothing to wait for. */
  drainDelayMsElsewhere: 0,
  /**
   * The adaptive `drainDelayMs: { minMs, maxMs, quietMs }`: the delay lasts at least `minMs` and ends once no
   * new connection has arrived for `quietMs` (`maxMs` has no default).
   */
  drainDelay: { minMs: 1_000, quietMs: 1_000 },
  taskTimeoutMs: 5_000,
  phase: 'close' as Phase,
  critical: true,
  signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
  /** Where Kubernetes reads a container's termination message (its `terminationMessagePath` default). */
  terminationLogPath: '/dev/termination-log',
  /** Kubernetes keeps at most 4 KiB of a termination message: the summary is cut to fit. */
  terminationLogMaxBytes: 4096,
  /** The run's last phase ends this long before the deadline so the exit itself fits too. */
  exitReserveMs: 100,
  /**
   * With `exit: false`, how long after the run a process still alive logs what keeps it so (`process.alive`):
   * an unref'd timer, which fires only if something else keeps the event loop alive.
   */
  keptAliveLogMs: 2_000,
  /** An exit flush's budget (`addExitFlush`), reserved between the report and the exit. */
  exitFlushTimeoutMs: 1_000,
  /** `context.stopAt()`: how long before its deadline a task stops its own work to report what is left. */
  stopMarginMs: 50,
  /** How long the event loop must be blocked during a run before the stall watcher (a worker thread) says so. */
  stallReportMs: 1_000,
  /** The main thread's heartbeat to the stall watcher, and how often the watcher looks. */
  stallBeatMs: 100,
  /** `shutdown.health.check()`: a run past `timeoutMs` is failing; a result is reused for `cacheMs`. */
  health: {
    /** Half the kubelet's default probe `timeoutSeconds` (1): a slow check is a 503 with its reason, not a probe timeout. */
    timeoutMs: 500,
    cacheMs: 1_000,
    affects: ['readiness'] as readonly ('readiness' | 'liveness')[],
    /** A failing check fails its probes (a non-critical one only makes them `degraded`). */
    critical: true,
  },
  /** `shutdown.startup.task()`: past `timeoutMs` the task's signal aborts and start-up has failed. */
  startup: { timeoutMs: 60_000 },
} as const

/**
 * Exit codes used when the coordinator ends the process.
 *
 * - `ok` (0): every critical task succeeded.
 * - `failed` (1): a critical task failed, timed out or was skipped, or a fatal error triggered the run.
 * - `watchdog` (124): the deadline came before the run could finish (as `timeout(1)` does).
 * - `forced` (130): a second SIGINT asked for an immediate exit (128 + SIGINT).
 */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  watchdog: 124,
  forced: 130,
} as const
