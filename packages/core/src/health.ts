import { duration, name as nameOption } from './adapter/options.js'
import type { Clock } from './clock.js'
import { DEFAULTS } from './defaults.js'
import {
  DuplicateTaskError,
  describeValue,
  errorFields,
  HealthCheckTimeoutError,
  InvalidOptionError,
  UnknownProbeError,
} from './errors.js'
import type { Logger } from './logger.js'
import { type Registration, registration } from './task.js'
import { boolean, checkOptions, orDefault } from './validate.js'

// The health registry: named checks of the service's dependencies, run for the probes. A slow dependency
// never hangs a probe: every run is bounded by the check's `timeoutMs` on the coordinator's clock (its
// signal aborts then, and the run counts as failing), concurrent probes share one run in flight, and a
// result is reused for `cacheMs`.

/** The probes a check can affect. */
export const PROBES = ['readiness', 'liveness'] as const
/** `readiness` (the `/readyz` probe) or `liveness` (`/healthz`). */
export type Probe = (typeof PROBES)[number]

/** What a check reports: `degraded` keeps the probe up but is reported. */
export type HealthState = 'ok' | 'degraded' | 'failing'

/** What a check function may return (or resolve to): `true`/`false`, or a status with details. */
export type HealthCheckResult = boolean | { status: HealthState; details?: Record<string, unknown> }

/** A check: resolves its result, or throws (failing). Watch `signal`: it aborts at the check's `timeoutMs`. */
export type HealthCheckFn = (signal: AbortSignal) => HealthCheckResult | Promise<HealthCheckResult>

/** Options of `shutdown.health.check(name, fn, options)`. */
export interface HealthCheckOptions {
  /** How long one run may take; past it its signal aborts and the run is `failing`. Default: {@link DEFAULTS}`.health.timeoutMs`. */
  timeoutMs?: number
  /** How long a result is reused before the check runs again. Default: {@link DEFAULTS}`.health.cacheMs`. */
  cacheMs?: number
  /** The probes it affects. Default: {@link DEFAULTS}`.health.affects` (`['readiness']`). */
  affects?: readonly Probe[]
  /** Whether its failure fails the probe; a failing non-critical check only makes it `degraded`. Default: {@link DEFAULTS}`.health.critical`. */
  critical?: boolean
}

/** The last result of one check. */
export interface HealthCheckReport {
  status: HealthState
  critical: boolean
  /** Epoch ms (the coordinator's clock) at which this result was taken. */
  at: number
  durationMs: number
  /** Why it is failing: what it threw, its timeout, or `the check returned false`. */
  error?: string
  /** Stable code of that error when it had one (`LAMEDUCK_ERR_HEALTH_CHECK_TIMEOUT`, …). */
  code?: string
  /** What the check returned besides its status. */
  details?: Record<string, unknown>
}

/** `shutdown.health.status(probe)`: the aggregate of the checks that affect the probe. */
export interface HealthReport {
  probe: Probe
  /** `failing` when a critical check fails; `degraded` when one is degraded or a non-critical one fails; else `ok`. */
  status: HealthState
  checks: Record<string, HealthCheckReport>
}

/** The `health` event of `shutdown.on()`: a check's status changed (its first failure, its recovery). */
export interface HealthChangeEvent {
  /** The check's name. */
  name: string
  /** The probes it affects. */
  probes: Probe[]
  from: HealthState
  to: HealthState
  critical: boolean
  /** Why it is failing, when it is. */
  error?: string
  code?: string
}

/** `shutdown.health`. */
export interface HealthRegistry {
  /**
   * Registers a check. Throws `DuplicateTaskError` for a name taken by another check, `InvalidOptionError`
   * for a bad name or a non-function, `InvalidDurationError`, `UnknownOptionError`, `UnknownProbeError`.
   */
  check(name: string, fn: HealthCheckFn, options?: HealthCheckOptions): Registration
  /**
   * Runs (or reuses) every check affecting `probe`, each within its `timeoutMs`. Never rejects; throws
   * `UnknownProbeError` at the call for another probe than `'readiness'` or `'liveness'`.
   */
  status(probe: Probe): Promise<HealthReport>
  /** The names of the checks registered now. */
  names(): string[]
  /**
   * The last result of each check registered now that has run at least once, by name; runs nothing. For
   * metrics: a removed check is gone from it, and one that was `ok` from its first run is in it.
   */
  latest(): Record<string, HealthCheckReport>
}

interface Check {
  readonly name: string
  readonly fn: HealthCheckFn
  readonly timeoutMs: number
  readonly cacheMs: number
  readonly affects: readonly Probe[]
  readonly critical: boolean
  last: HealthCheckReport | undefined
  inflight: Promise<HealthCheckReport> | undefined
  /** The call of `fn` that has not settled yet, even past its timeout: no second call is stacked on it. */
  unsettled: boolean
}

const OPTION_KEYS = ['timeoutMs', 'cacheMs', 'affects', 'critical'] as const

export class Health implements HealthRegistry {
  readonly #checks = new Map<string, Check>()
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #onChange: (event: HealthChangeEvent) => void

  constructor(clock: Clock, logger: Logger, onChange: (event: HealthChangeEvent) => void = () => {}) {
    this.#clock = clock
    this.#logger = logger
    this.#onChange = onChange
  }

  check(name: string, fn: HealthCheckFn, options?: HealthCheckOptions): Registration {
    const where = 'health.check'
    nameOption(`name of ${where}`, name)
    if (typeof fn !== 'function')
      throw new InvalidOptionError(`check "${name}" of ${where}`, `expected a function; got ${describeValue(fn)}`)
    checkOptions(`${where} "${name}"`, options, OPTION_KEYS)
    const o = options ?? {}
    const d = DEFAULTS.health
    const affects = o.affects === undefined ? d.affects : o.affects
    if (!Array.isArray(affects) || affects.length === 0)
      throw new InvalidOptionError(
        `affects of ${where} "${name}"`,
        `expected a non-empty array of ${PROBES.map((p) => `'${p}'`).join(', ')}; got ${describeValue(affects)}`,
      )
    for (const probe of affects)
      if (!PROBES.includes(probe)) throw new UnknownProbeError(probe, `affects of ${where} "${name}"`)
    const check: Check = {
      name,
      fn,
      timeoutMs: duration(`timeoutMs of ${where} "${name}"`, o.timeoutMs, d.timeoutMs, { positive: true }),
      cacheMs: duration(`cacheMs of ${where} "${name}"`, o.cacheMs, d.cacheMs),
      affects: [...new Set(affects)],
      critical: boolean(`critical of ${where} "${name}"`, orDefault(o.critical, d.critical)),
      last: undefined,
      inflight: undefined,
      unsettled: false,
    }
    if (this.#checks.has(name)) throw new DuplicateTaskError(name, 'health check')
    this.#checks.set(name, check)
    return registration(name, () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name)
    })
  }

  names(): string[] {
    return [...this.#checks.keys()]
  }

  latest(): Record<string, HealthCheckReport> {
    const latest: Record<string, HealthCheckReport> = {}
    for (const check of this.#checks.values()) if (check.last !== undefined) latest[check.name] = check.last
    return latest
  }

  status(probe: Probe): Promise<HealthReport> {
    // For JavaScript callers: a typo would answer an empty `ok` — a probe that can never fail.
    if (!PROBES.includes(probe)) throw new UnknownProbeError(probe, 'probe of health.status')
    return this.#status(probe)
  }

  async #status(probe: Probe): Promise<HealthReport> {
    const checks = [...this.#checks.values()].filter((check) => check.affects.includes(probe))
    const results = await Promise.all(checks.map((check) => this.#result(check)))
    const report: HealthReport = { probe, status: 'ok', checks: {} }
    checks.forEach((check, i) => {
      const result = results[i] as HealthCheckReport
      report.checks[check.name] = result
      if (result.status === 'failing' && check.critical) report.status = 'failing'
      else if (result.status !== 'ok' && report.status === 'ok') report.status = 'degraded'
    })
    return report
  }

  #result(check: Check): Promise<HealthCheckReport> {
    const now = this.#clock.now()
    if (check.last !== undefined && now - (check.last.at + check.last.durationMs) < check.cacheMs)
      return Promise.resolve(check.last)
    if (check.inflight) return check.inflight
    const run = this.#run(check).then((result) => {
      const before = check.last
      check.last = result
      check.inflight = undefined
      // After the bookkeeping: whatever it does, the check is not wedged on a rejected run. A check removed
      // while this run was in flight has no status to change any more (its name may be another's now).
      if (this.#checks.get(check.name) === check) this.#logChange(check, before, result)
      return result
    })
    check.inflight = run
    return run
  }

  /**
   * One line, and one `health` event, when a check's status changes (not one per probe): the first
   * failure, the recovery.
   */
  #logChange(check: Check, before: HealthCheckReport | undefined, after: HealthCheckReport): void {
    if ((before?.status ?? 'ok') === after.status) return
    const from = before?.status ?? 'ok'
    const why = {
      ...(after.error === undefined ? {} : { error: after.error }),
      ...(after.code === undefined ? {} : { code: after.code }),
    }
    const fields = {
      event: 'health.check',
      check: check.name,
      status: after.status,
      from,
      critical: check.critical,
      ...why,
    }
    const message = `health check ${check.name}: ${from} → ${after.status}${after.error ? ` (${after.error})` : ''}`
    // A logger that throws must not reject the run: every later probe would share it, and status() reject.
    try {
      if (after.status === 'ok') this.#logger.info(fields, message)
      else this.#logger.warn(fields, message)
    } catch {
      // Nowhere left to say it; the event below still tells it.
    }
    this.#onChange({
      name: check.name,
      probes: [...check.affects],
      from,
      to: after.status,
      critical: check.critical,
      ...why,
    })
  }

  #run(check: Check): Promise<HealthCheckReport> {
    const clock = this.#clock
    const start = clock.now()
    const done = (status: HealthState, extra: Partial<HealthCheckReport> = {}): HealthCheckReport => ({
      status,
      critical: check.critical,
      at: start,
      durationMs: clock.now() - start,
      ...extra,
    })
    const failing = (error: unknown) => done('failing', errorFields(error))
    if (check.unsettled) return Promise.resolve(failing(new HealthCheckTimeoutError(check.name, check.timeoutMs, true)))
    const controller = new AbortController()
    return new Promise<HealthCheckReport>((resolve) => {
      let settled = false
      const finish = (result: HealthCheckReport) => {
        if (settled) return
        settled = true
        clock.clearTimeout(timer)
        resolve(result)
      }
      const timer = clock.setTimeout(() => {
        const error = new HealthCheckTimeoutError(check.name, check.timeoutMs, false)
        controller.abort(error)
        finish(failing(error))
      }, check.timeoutMs)
      check.unsettled = true
      let work: Promise<HealthCheckResult>
      try {
        work = Promise.resolve(check.fn(controller.signal))
      } catch (error) {
        work = Promise.reject(error)
      }
      work.then(
        (value) => {
          check.unsettled = false
          finish(interpret(value, done))
        },
        (error: unknown) => {
          check.unsettled = false
          finish(failing(error))
        },
      )
    })
  }
}

function interpret(
  value: HealthCheckResult,
  done: (status: HealthState, extra?: Partial<HealthCheckReport>) => HealthCheckReport,
): HealthCheckReport {
  if (value === true) return done('ok')
  if (value === false) return done('failing', { error: 'the check returned false' })
  const v = value as { status?: unknown; details?: unknown } | null
  if (v !== null && typeof v === 'object' && (v.status === 'ok' || v.status === 'degraded' || v.status === 'failing')) {
    const details =
      v.details !== null && typeof v.details === 'object' ? (v.details as Record<string, unknown>) : undefined
    return done(v.status, details === undefined ? {} : { details })
  }
  return done('failing', {
    error: `the check returned ${describeValue(value)}; expected a boolean or { status: 'ok' | 'degraded' | 'failing' }`,
  })
}
