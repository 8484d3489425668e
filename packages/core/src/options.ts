import { constants } from 'node:os'
import { type Clock, systemClock } from './clock.js'
import { DEFAULTS } from './defaults.js'
import { type AdaptiveDrainDelay, type ResolvedDrainDelay, resolveDrainDelay } from './drain-delay.js'
import { requireDuration } from './duration.js'
import { InvalidDurationError, InvalidOptionError, UnknownSignalError } from './errors.js'
import { createJsonLogger, type Logger, silentLogger } from './logger.js'
import { resolveTerminationLog } from './termination-log.js'
import { checkOptions } from './validate.js'

/** Options of {@link createShutdown}. Every one is optional. */
export interface ShutdownOptions {
  /**
   * The pod's `terminationGracePeriodSeconds` in ms: SIGKILL comes this long after termination starts.
   * Default: env `TERMINATION_GRACE_PERIOD_SECONDS` × 1000, else {@link DEFAULTS}`.gracePeriodMs`.
   */
  gracePeriodMs?: number
  /** Time kept free before SIGKILL; the deadline is `gracePeriodMs - safetyMarginMs` after the first trigger. Default: {@link DEFAULTS}`.safetyMarginMs`. */
  safetyMarginMs?: number
  /**
   * How long the `readiness` phase keeps serving with readiness failing, while the endpoint removal
   * propagates to every node. A number: that long. `{ minMs, maxMs, quietMs }`: adaptive — at least `minMs`,
   * then until no new connection has arrived for `quietMs` (as the drains of `@lameduck/http` and other
   * adapters see them; the kubelet's probes and preStop call do not count), `maxMs` at the latest; budgets
   * count `maxMs`. Default: {@link DEFAULTS}`.drainDelayMsInKubernetes` when running in Kubernetes
   * (`KUBERNETES_SERVICE_HOST` set), else {@link DEFAULTS}`.drainDelayMsElsewhere`.
   */
  drainDelayMs?: number | AdaptiveDrainDelay
  /** Signals that start the shutdown; `[]` for none. Default: {@link DEFAULTS}`.signals`. */
  signals?: readonly NodeJS.Signals[]
  /**
   * `true`: the process exits with the report's exit code when the run is done (the only place lameduck
   * exits a process). `false`: it never exits. A function: called with the exit code instead. Default: `true`.
   */
  exit?: boolean | ((code: number) => void)
  /** Pino-compatible logger; `false` for silence. Default: one JSON line per event on stderr. */
  logger?: Logger | false
  /** Start the shutdown on `uncaughtException` and `unhandledRejection` (exit code 1). Default: `false`. */
  fatalErrors?: boolean
  /** Time source and timers, for tests. Default: `Date.now` and the global timers. */
  clock?: Clock
  /** Environment to read defaults from. Default: `process.env`. */
  env?: Record<string, string | undefined>
  /**
   * A file to write a summary of the run to when the process exits (at most
   * {@link DEFAULTS}`.terminationLogMaxBytes`): Kubernetes shows it in `kubectl describe pod`. `false`: none.
   * Default: {@link DEFAULTS}`.terminationLogPath` when it exists and is writable (in a container), else none.
   */
  terminationLog?: string | false
}

/** The options with every default applied and validated: what `shutdown.config` holds. */
export interface ResolvedOptions {
  gracePeriodMs: number
  safetyMarginMs: number
  /** The longest the drain delay can last: the number given, or the adaptive delay's `maxMs`. */
  drainDelayMs: number
  /** The drain delay as given, resolved: fixed, or adaptive with its `minMs`, `maxMs` and `quietMs`. */
  drainDelay: ResolvedDrainDelay
  signals: readonly NodeJS.Signals[]
  exit: ((code: number) => void) | undefined
  logger: Logger
  fatalErrors: boolean
  clock: Clock
  /** The file the exit writes its summary to, or `undefined`. */
  terminationLog: string | undefined
}

// Synchronous faults that the process cannot meaningfully survive, and the debugger's signal.
const unhandleable: Record<string, string> = {
  SIGKILL: 'it cannot be caught',
  SIGSTOP: 'it cannot be caught',
  SIGSEGV: 'it signals memory corruption, not a request to stop',
  SIGBUS: 'it signals memory corruption, not a request to stop',
  SIGFPE: 'it signals a fault, not a request to stop',
  SIGILL: 'it signals a fault, not a request to stop',
  SIGUSR1: 'Node.js reserves it for the inspector',
}

const KNOWN: readonly (keyof ShutdownOptions)[] = [
  'gracePeriodMs',
  'safetyMarginMs',
  'drainDelayMs',
  'signals',
  'exit',
  'logger',
  'fatalErrors',
  'clock',
  'env',
  'terminationLog',
]

export function resolveOptions(options: ShutdownOptions = {}): ResolvedOptions {
  checkOptions('createShutdown', options, KNOWN)
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object'))
    throw new InvalidOptionError('env', 'expected an object of environment variables')
  const env = options.env ?? process.env

  let gracePeriodMs: number
  if (options.gracePeriodMs !== undefined) {
    gracePeriodMs = requireDuration('gracePeriodMs', options.gracePeriodMs)
  } else if (env.TERMINATION_GRACE_PERIOD_SECONDS !== undefined && env.TERMINATION_GRACE_PERIOD_SECONDS !== '') {
    const raw = env.TERMINATION_GRACE_PERIOD_SECONDS
    const seconds = Number(raw)
    if (!/^\s*\d+(\.\d+)?\s*$/.test(raw) || !Number.isFinite(seconds))
      throw new InvalidDurationError(
        'the environment variable TERMINATION_GRACE_PERIOD_SECONDS',
        raw,
        'a whole or decimal number of seconds (e.g. "30")',
      )
    gracePeriodMs = requireDuration('TERMINATION_GRACE_PERIOD_SECONDS × 1000', seconds * 1000)
  } else {
    gracePeriodMs = DEFAULTS.gracePeriodMs
  }
  if (gracePeriodMs === 0) throw new InvalidOptionError('gracePeriodMs', 'must be greater than 0')

  const safetyMarginMs = requireDuration(
    'safetyMarginMs',
    options.safetyMarginMs === undefined ? DEFAULTS.safetyMarginMs : options.safetyMarginMs,
  )
  if (safetyMarginMs >= gracePeriodMs) {
    // Blame what the user gave: a gracePeriodMs of 30 is almost always seconds written as milliseconds.
    if (options.gracePeriodMs !== undefined)
      throw new InvalidOptionError(
        'gracePeriodMs',
        `${gracePeriodMs} must be greater than safetyMarginMs (${safetyMarginMs}): no time would be left for the ` +
          `shutdown.${gracePeriodMs < 1000 ? ` gracePeriodMs is in milliseconds: did you mean ${gracePeriodMs * 1000}?` : ''}`,
      )
    if (options.safetyMarginMs === undefined)
      throw new InvalidOptionError(
        'TERMINATION_GRACE_PERIOD_SECONDS',
        `${gracePeriodMs / 1000} s leaves no time after safetyMarginMs (${safetyMarginMs} ms) for the shutdown`,
      )
    throw new InvalidOptionError(
      'safetyMarginMs',
      `${safetyMarginMs} must be less than the grace period (${gracePeriodMs} ms): no time would be left for the shutdown`,
    )
  }

  const inKubernetes = Boolean(env.KUBERNETES_SERVICE_HOST)
  const drainDelay = resolveDrainDelay(
    options.drainDelayMs !== undefined
      ? options.drainDelayMs
      : inKubernetes
        ? DEFAULTS.drainDelayMsInKubernetes
        : DEFAULTS.drainDelayMsElsewhere,
  )

  const signals = options.signals === undefined ? DEFAULTS.signals : options.signals
  if (!Array.isArray(signals)) throw new InvalidOptionError('signals', 'expected an array of signal names')
  for (const signal of signals) {
    if (typeof signal !== 'string' || !Object.hasOwn(constants.signals, signal)) throw new UnknownSignalError(signal)
    const why = unhandleable[signal]
    if (why) throw new UnknownSignalError(signal, why)
  }

  let exit: ResolvedOptions['exit']
  const exitOption = options.exit === undefined ? true : options.exit
  if (exitOption === true) exit = (code) => process.exit(code)
  else if (exitOption === false) exit = undefined
  else if (typeof exitOption === 'function') exit = exitOption
  else throw new InvalidOptionError('exit', 'expected a boolean or a function')

  let logger: Logger
  if (options.logger === false) logger = silentLogger
  else if (options.logger === undefined) logger = createJsonLogger()
  else if (
    options.logger !== null &&
    typeof options.logger === 'object' &&
    ['info', 'warn', 'error'].every(
      (m) => typeof (options.logger as unknown as Record<string, unknown>)[m] === 'function',
    )
  )
    logger = options.logger
  else throw new InvalidOptionError('logger', 'expected false or an object with info, warn and error methods')

  if (options.fatalErrors !== undefined && typeof options.fatalErrors !== 'boolean')
    throw new InvalidOptionError('fatalErrors', 'expected a boolean')

  const clock = options.clock === undefined ? systemClock : options.clock
  if (
    clock === null ||
    typeof clock !== 'object' ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  )
    throw new InvalidOptionError('clock', 'expected now, setTimeout and clearTimeout functions')

  return {
    gracePeriodMs,
    safetyMarginMs,
    drainDelayMs: drainDelay.maxMs,
    drainDelay,
    signals: [...new Set(signals)],
    exit,
    logger,
    fatalErrors: options.fatalErrors ?? false,
    clock,
    terminationLog: resolveTerminationLog(options.terminationLog),
  }
}
