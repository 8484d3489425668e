/**
 * The closed catalogue of the error codes `@lameduck/core` throws or records (the kit's
 * `DuplicateRegistrationError` included). Every package has one (`HTTP_ERROR_CODES`, …); docs/errors.md
 * lists them all, kept in sync by a test.
 */
export const CORE_ERROR_CODES = [
  'LAMEDUCK_ERR_INVALID_DURATION',
  'LAMEDUCK_ERR_INVALID_OPTION',
  'LAMEDUCK_ERR_UNKNOWN_OPTION',
  'LAMEDUCK_ERR_UNKNOWN_PHASE',
  'LAMEDUCK_ERR_UNKNOWN_SIGNAL',
  'LAMEDUCK_ERR_DUPLICATE_TASK',
  'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
  'LAMEDUCK_ERR_PHASE_STARTED',
  'LAMEDUCK_ERR_TASK_TIMEOUT',
  'LAMEDUCK_ERR_TASK_SKIPPED',
  'LAMEDUCK_ERR_TASK_OVERRUN',
  'LAMEDUCK_ERR_TASK_ABANDONED',
  'LAMEDUCK_ERR_UNCAUGHT_DURING_SHUTDOWN',
  /** `affects` of a health check, or `health.status(probe)`, names something that is not a probe (`readiness`, `liveness`). */
  'LAMEDUCK_ERR_UNKNOWN_PROBE',
  /** Recorded: a health check did not settle within its `timeoutMs` (or its previous run still has not). */
  'LAMEDUCK_ERR_HEALTH_CHECK_TIMEOUT',
  /** Recorded, and the task's abort reason: a start-up task did not finish within its `timeoutMs`. */
  'LAMEDUCK_ERR_STARTUP_TIMEOUT',
  /** Recorded, and the task's abort reason: a shutdown began while the start-up task still ran. */
  'LAMEDUCK_ERR_STARTUP_ABORTED',
  /** `startup.task()` after `startup.done()`, or once a shutdown has begun: the task would never count. */
  'LAMEDUCK_ERR_STARTUP_CLOSED',
] as const

/** The warning codes `@lameduck/core` emits (`shutdown.on('warning')` and the log). */
export const CORE_WARNING_CODES = [
  'LAMEDUCK_WARN_BUDGET_EXCEEDS_GRACE',
  'LAMEDUCK_WARN_SEVERAL_COORDINATORS',
  'LAMEDUCK_WARN_DRAIN_DELAY_UNFED',
  /** A start-up task failed or timed out: readiness and `/startupz` stay down for good. */
  'LAMEDUCK_WARN_STARTUP_FAILED',
] as const

/**
 * The shape of every lameduck error code, whatever the package: `LAMEDUCK_ERR_` and upper-case words.
 * Each package's closed union (`CoreErrorCode`, `HttpErrorCode`, …) narrows it.
 */
export type LameduckErrorCode = `LAMEDUCK_ERR_${Uppercase<string>}`

/** The shape of every lameduck warning code. */
export type LameduckWarningCode = `LAMEDUCK_WARN_${Uppercase<string>}`

const kClasses = Symbol.for('lameduck:error-classes')

/** Base class of every lameduck error. `code` is stable across versions; messages are not. */
export class LameduckError extends Error {
  readonly code: LameduckErrorCode

  constructor(code: LameduckErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    // The names of its classes, for `instanceof` across copies of a package (see below).
    const classes: string[] = []
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c))
      classes.push((c as { name: string }).name)
    Object.defineProperty(this, kClasses, { value: classes, enumerable: false })
  }

  /**
   * `error instanceof TaskTimeoutError` holds for an error of any copy of lameduck in the process: an
   * application may load a package's ESM build while a dependency loads its CommonJS one (or another
   * install), and each copy has its own classes. An error carries the names of its classes under a
   * `Symbol.for` key that every copy shares; every subclass of `LameduckError` inherits this check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class `instanceof` was asked about (LameduckError or any subclass), not LameduckError.
    // biome-ignore lint/complexity/noThisInStatic: the subclass is the point
    const target = this as unknown as { name: string }
    if (Function.prototype[Symbol.hasInstance].call(target, value)) return true
    const classes = (value as { [kClasses]?: unknown } | null)?.[kClasses]
    return typeof value === 'object' && Array.isArray(classes) && classes.includes(target.name)
  }
}

/** Thrown at configuration time: the options or task given cannot work. Nothing has been changed. */
export class ConfigurationError extends LameduckError {}

/**
 * A duration is negative, NaN, infinite, not a number (`null` included), or longer than Node's timers can
 * hold (2³¹−1 ms, about 24.8 days: a longer one fires after ~1 ms).
 */
export class InvalidDurationError extends ConfigurationError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    /** What was expected, when it is not "a finite, non-negative number of milliseconds". */
    expected = 'a finite, non-negative number of milliseconds',
  ) {
    super('LAMEDUCK_ERR_INVALID_DURATION', `${option} must be ${expected}; got ${describeValue(value)}`)
  }
}

/**
 * An options object has a key the function does not know: a typo (`drainDelay`), a wrong unit
 * (`timeout` for `timeoutMs`), or an option of another function. Caught for JavaScript callers too.
 */
export class UnknownOptionError extends ConfigurationError {
  constructor(
    /** Where the options were given, e.g. `createShutdown` or `drainHttpServer`. */
    readonly where: string,
    readonly option: string,
    /** The closest known option, when one is close. */
    readonly suggestion: string | undefined,
    known: readonly string[],
  ) {
    super(
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      `${where}: unknown option ${JSON.stringify(option)}` +
        (suggestion === undefined ? '' : ` — did you mean ${JSON.stringify(suggestion)}?`) +
        ` (known: ${known.join(', ')})`,
    )
  }
}

/** An option has the wrong type or an impossible value. */
export class InvalidOptionError extends ConfigurationError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('LAMEDUCK_ERR_INVALID_OPTION', `${option}: ${message}`)
  }
}

export class UnknownPhaseError extends ConfigurationError {
  constructor(
    readonly phase: unknown,
    known: readonly string[],
    /** The option that held it, when not a task's `phase`. */
    option?: string,
  ) {
    super(
      'LAMEDUCK_ERR_UNKNOWN_PHASE',
      `${option === undefined ? '' : `${option}: `}unknown phase ${describeValue(phase)}; expected one of ${known.join(', ')}`,
    )
  }
}

export class UnknownSignalError extends ConfigurationError {
  constructor(
    readonly signal: unknown,
    why = 'not a signal this platform knows',
  ) {
    super('LAMEDUCK_ERR_UNKNOWN_SIGNAL', `cannot handle signal ${describeValue(signal)}: ${why}`)
  }
}

export class DuplicateTaskError extends ConfigurationError {
  constructor(
    readonly task: string,
    /** What has the name: `'task'`, `'health check'`, `'start-up task'`. */
    readonly kind = 'task',
  ) {
    super(
      'LAMEDUCK_ERR_DUPLICATE_TASK',
      `a ${kind} named "${task}" is already registered; ${kind} names must be unique`,
    )
  }
}

/** A health check's `affects`, or `health.status(probe)`, names something that is not a probe. */
export class UnknownProbeError extends ConfigurationError {
  constructor(
    readonly probe: unknown,
    /** The option that held it. */
    readonly option: string,
  ) {
    super(
      'LAMEDUCK_ERR_UNKNOWN_PROBE',
      `${option}: unknown probe ${describeValue(probe)}; expected 'readiness' or 'liveness'`,
    )
  }
}

/** The abort reason of a health check's signal at its `timeoutMs`, and its recorded error. */
export class HealthCheckTimeoutError extends LameduckError {
  constructor(
    readonly check: string,
    readonly timeoutMs: number,
    /** True when its previous run, already timed out, still had not settled: no new run was started. */
    readonly stillRunning: boolean,
  ) {
    super(
      'LAMEDUCK_ERR_HEALTH_CHECK_TIMEOUT',
      stillRunning
        ? `health check "${check}": its previous run timed out after ${timeoutMs} ms and has not settled yet`
        : `health check "${check}" timed out after ${timeoutMs} ms`,
    )
  }
}

/** The abort reason of a start-up task's signal at its `timeoutMs`, and its recorded error. */
export class StartupTimeoutError extends LameduckError {
  constructor(
    readonly task: string,
    readonly timeoutMs: number,
  ) {
    super('LAMEDUCK_ERR_STARTUP_TIMEOUT', `start-up task "${task}" timed out after ${timeoutMs} ms`)
  }
}

/** The abort reason of a start-up task's signal when a shutdown began (or it was removed) while it ran. */
export class StartupAbortedError extends LameduckError {
  constructor(
    readonly task: string,
    why: string,
  ) {
    super('LAMEDUCK_ERR_STARTUP_ABORTED', `start-up task "${task}" was aborted: ${why}`)
  }
}

/** `startup.task()` once start-up is closed: `done()` was called, or a shutdown has begun. */
export class StartupClosedError extends ConfigurationError {
  constructor(
    readonly task: string,
    why: string,
  ) {
    super('LAMEDUCK_ERR_STARTUP_CLOSED', `cannot add start-up task "${task}": ${why}`)
  }
}

/** `addTask` was called for a phase that has already started or finished: the task could never run. */
export class PhaseStartedError extends LameduckError {
  constructor(
    readonly task: string,
    readonly phase: string,
  ) {
    super(
      'LAMEDUCK_ERR_PHASE_STARTED',
      `cannot add task "${task}": phase "${phase}" of the running shutdown has already started`,
    )
  }
}

/** The abort reason of a task's signal when its time is up, and the error recorded in the report. */
export class TaskTimeoutError extends LameduckError {
  constructor(
    readonly task: string,
    readonly timeoutMs: number,
    /** True when the phase was cut to reserve time for later phases, before the task's own timeout. */
    readonly cutByPhase: boolean,
  ) {
    super(
      'LAMEDUCK_ERR_TASK_TIMEOUT',
      cutByPhase
        ? `task "${task}" was cut after ${timeoutMs} ms to keep the time reserved for later phases`
        : `task "${task}" timed out after ${timeoutMs} ms`,
    )
  }
}

/** Recorded for a task that never started because no time was left before the deadline. */
export class TaskSkippedError extends LameduckError {
  constructor(readonly task: string) {
    super('LAMEDUCK_ERR_TASK_SKIPPED', `task "${task}" was skipped: no time was left before the deadline`)
  }
}

/**
 * Recorded for a task that settled after its budget without its timeout having fired: it held the event
 * loop (synchronous code), and no timer can preempt that. Its outcome is `timeout`, not `ok`.
 */
export class TaskOverrunError extends LameduckError {
  constructor(
    readonly task: string,
    readonly budgetMs: number,
    /** How long after its deadline it settled. */
    readonly overrunMs: number,
    /** How long its synchronous part (the call of `run` itself) held the event loop. */
    readonly syncMs: number,
  ) {
    super(
      'LAMEDUCK_ERR_TASK_OVERRUN',
      `task "${task}" settled ${overrunMs} ms after its budget of ${budgetMs} ms` +
        (syncMs >= budgetMs
          ? `: its synchronous code held the event loop for ${syncMs} ms`
          : ': the event loop was blocked, so its timeout could not fire') +
        ' (no timer can preempt synchronous code)',
    )
  }
}

/** The error given to `onAbandon` with outcome `exit`: the process exits while the task still runs. */
export class TaskAbandonedError extends LameduckError {
  constructor(
    readonly task: string,
    why: string,
  ) {
    super('LAMEDUCK_ERR_TASK_ABANDONED', `task "${task}" was abandoned: ${why}`)
  }
}

/** An uncaught exception or unhandled rejection during a run: recorded, logged, and the exit code is 1. */
export class UncaughtDuringShutdownError extends LameduckError {
  constructor(
    readonly origin: 'uncaughtException' | 'unhandledRejection',
    cause: unknown,
  ) {
    super('LAMEDUCK_ERR_UNCAUGHT_DURING_SHUTDOWN', `${origin} during the shutdown: ${errorMessage(cause)}`, { cause })
  }
}

/** A short, value-free-of-secrets description of what a caller passed, for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'bigint') return `${value}n`
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return 'a function'
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object'
}

/** Turns whatever a task threw or rejected with into a message for the report. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/**
 * What a report says of an error: its message, and its stable `code` when it has a string one (a
 * `LameduckError`, a Node system error). For task, health-check and start-up task reports alike.
 */
export function errorFields(error: unknown): { error: string; code?: string } {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? { error: errorMessage(error), code } : { error: errorMessage(error) }
}

/** A code of {@link CORE_ERROR_CODES}. */
export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number]
/** A code of {@link CORE_WARNING_CODES}. */
export type CoreWarningCode = (typeof CORE_WARNING_CODES)[number]
