import { readFile, writeFile } from 'node:fs/promises'
import { type BudgetPlan, describeValue, InvalidOptionError, PHASES, type Shutdown } from '@lameduck/core'
import { boolean, checkOptions, closest, count, requireShutdown, string } from '@lameduck/core/adapter'
import { DOCTOR_DEFAULTS } from './doctor-defaults.js'
import { DoctorError } from './doctor-errors.js'

/** An adaptive drain delay: the `readiness` phase lasts `minMs` at least, ends after `quietMs` without new traffic, `maxMs` at most. */
export interface DoctorDrainDelay {
  minMs: number
  maxMs: number
  quietMs: number
}

/** The service's endpoints, as the manifests must reach them. */
export interface DoctorPlanHttp {
  /** The container port that serves the shutdown endpoint (the application port, or the admin server's). */
  port: number
  shutdownPath: string
  readyPath: string
  livePath: string
  /** Whether that port serves HTTPS (a preStop `scheme: HTTPS` against it is then right). */
  https: boolean
}

/**
 * What the doctor checks manifests against: the coordinator's `shutdown.plan()` — how the grace period is
 * shared among the phases with the service's tasks — and where its endpoints are. `writeDoctorPlan` writes
 * it as JSON; `lameduck-doctor --plan <file>` reads it.
 */
export interface DoctorPlan {
  /** `shutdown.plan()`; `drainDelay` when the drain delay is adaptive (`drainDelayMs` is then its `maxMs`). */
  plan: Omit<BudgetPlan, 'drainDelay'> & { drainDelay?: DoctorDrainDelay }
  http: DoctorPlanHttp
}

/** The `http` argument of {@link writeDoctorPlan}: `port` is required, the paths default to `@lameduck/http`'s. */
export interface DoctorHttpOptions {
  port: number
  shutdownPath?: string
  readyPath?: string
  livePath?: string
  https?: boolean
}

const FILE_KEYS = ['plan', 'http'] as const
const PLAN_KEYS = [
  'gracePeriodMs',
  'safetyMarginMs',
  'drainDelayMs',
  'availableMs',
  'phases',
  'totalMs',
  'fits',
  'drainDelay',
  'exitFlushMs',
] as const
const HTTP_KEYS = ['port', 'shutdownPath', 'readyPath', 'livePath', 'https'] as const
const DRAIN_DELAY_KEYS = ['minMs', 'maxMs', 'quietMs'] as const
// Core's `plan().drainDelay` also says `mode`; a fixed delay has no `quietMs`.
const DRAIN_DELAY_FILE_KEYS = ['mode', ...DRAIN_DELAY_KEYS] as const

/**
 * The plan the doctor needs, from a coordinator with the service's options and tasks registered — no server
 * started, no store connected: `shutdown.plan()` only reads the budgets. Throws `InvalidOptionError` /
 * `UnknownOptionError` for a wrong argument.
 */
export function doctorPlan(shutdown: Shutdown, http: DoctorHttpOptions): DoctorPlan {
  const where = 'doctorPlan'
  requireShutdown(where, shutdown, 'doctorPlan(shutdown, { port })')
  if (http === undefined) throw new InvalidOptionError(`http of ${where}`, 'expected { port, … }; got undefined')
  checkOptions(`http of ${where}`, http, HTTP_KEYS)
  count(`http.port of ${where}`, http.port, undefined, { min: 1, max: 65_535 })
  for (const key of ['shutdownPath', 'readyPath', 'livePath'] as const) {
    const path = string(`http.${key} of ${where}`, http[key], DOCTOR_DEFAULTS.http[key])
    if (!path.startsWith('/') || /\s/.test(path))
      throw new InvalidOptionError(
        `http.${key} of ${where}`,
        `expected a path starting with /; got ${describeValue(path)}`,
      )
  }
  if (http.https !== undefined) boolean(`http.https of ${where}`, http.https)
  const budget = shutdown.plan()
  const plan: Record<string, unknown> = {}
  // Only the keys the doctor reads, so that a field core adds later does not make the file unreadable.
  for (const key of PLAN_KEYS) if (budget[key] !== undefined) plan[key] = budget[key]
  // The file names the drain delay only when it is adaptive (a fixed one is `drainDelayMs`).
  const delay = budget.drainDelay as BudgetPlan['drainDelay'] | undefined
  if (delay?.mode === 'adaptive') plan.drainDelay = { minMs: delay.minMs, maxMs: delay.maxMs, quietMs: delay.quietMs }
  else delete plan.drainDelay
  return parseDoctorPlan({ plan, http: { ...DOCTOR_DEFAULTS.http, ...http } }, 'shutdown.plan()')
}

/**
 * Writes {@link doctorPlan} to `file` as JSON, for `lameduck-doctor --plan <file>`; resolves to what it wrote.
 * Run it from a small script that builds the coordinator as the service does (the same options and
 * environment, the same tasks registered) without listening or connecting.
 */
export async function writeDoctorPlan(file: string, shutdown: Shutdown, http: DoctorHttpOptions): Promise<DoctorPlan> {
  const plan = doctorPlan(shutdown, http)
  await writeFile(file, `${JSON.stringify(plan, null, 2)}\n`)
  return plan
}

/** Reads and validates a plan file. Throws `DoctorError` (`LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT`, `…_INVALID_PLAN`). */
export async function readDoctorPlan(file: string): Promise<DoctorPlan> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new DoctorError(
      'LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT',
      `cannot read the plan file ${file}: ${(error as Error).message}`,
      { cause: error },
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new DoctorError('LAMEDUCK_ERR_DOCTOR_INVALID_PLAN', `${file}: not JSON: ${(error as Error).message}`, {
      cause: error,
    })
  }
  return parseDoctorPlan(value, file)
}

/**
 * Checks that `value` is a plan as {@link writeDoctorPlan} writes it, strictly: every key known, every
 * number a number, the sums right (a hand-edited plan that does not add up would make every check wrong).
 * Fills in the `http` keys left out. Throws `DoctorError` (`LAMEDUCK_ERR_DOCTOR_INVALID_PLAN`) naming the key.
 */
export function parseDoctorPlan(value: unknown, where = 'the plan'): DoctorPlan {
  const bad = (path: string, message: string): never => {
    throw new DoctorError('LAMEDUCK_ERR_DOCTOR_INVALID_PLAN', `${where}: ${path}${path ? ' ' : ''}${message}`)
  }
  const object = (path: string, v: unknown, keys: readonly string[], required: readonly string[]) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      return bad(path, `must be an object; got ${describeValue(v)}`)
    for (const key of Object.keys(v)) {
      if (keys.includes(key)) continue
      const near = closest(key, keys)
      bad(
        `${path ? `${path}.` : ''}${key}`,
        `is not a key of ${path || 'the plan file'}${near ? ` (did you mean ${near}?)` : ''}; known: ${keys.join(', ')}`,
      )
    }
    for (const key of required)
      if ((v as Record<string, unknown>)[key] === undefined) bad(`${path ? `${path}.` : ''}${key}`, 'is missing')
    return v as Record<string, unknown>
  }
  const ms = (path: string, v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0
      ? v
      : bad(path, `must be a number of ms ≥ 0; got ${describeValue(v)}`)

  const file = object('', value, FILE_KEYS, FILE_KEYS)
  const p = object(
    'plan',
    file.plan,
    PLAN_KEYS,
    // Optional: plans written before they existed have no drainDelay and no exitFlushMs.
    PLAN_KEYS.filter((k) => k !== 'drainDelay' && k !== 'exitFlushMs'),
  )
  const gracePeriodMs = ms('plan.gracePeriodMs', p.gracePeriodMs)
  if (gracePeriodMs === 0) bad('plan.gracePeriodMs', 'must be more than 0')
  const safetyMarginMs = ms('plan.safetyMarginMs', p.safetyMarginMs)
  const drainDelayMs = ms('plan.drainDelayMs', p.drainDelayMs)
  if (typeof p.availableMs !== 'number' || !Number.isFinite(p.availableMs))
    bad('plan.availableMs', `must be a number of ms; got ${describeValue(p.availableMs)}`)
  const totalMs = ms('plan.totalMs', p.totalMs)
  if (typeof p.fits !== 'boolean') bad('plan.fits', `must be true or false; got ${describeValue(p.fits)}`)
  if (!Array.isArray(p.phases)) bad('plan.phases', `must be an array; got ${describeValue(p.phases)}`)
  const phases = (p.phases as unknown[]).map((entry, i) => {
    const e = object(`plan.phases[${i}]`, entry, ['phase', 'reservedMs'], ['phase', 'reservedMs'])
    if (e.phase !== PHASES[i])
      bad(
        `plan.phases[${i}].phase`,
        `must be ${describeValue(PHASES[i])} (the phases are ${PHASES.join(', ')}, in that order); got ${describeValue(e.phase)}`,
      )
    return { phase: PHASES[i] as (typeof PHASES)[number], reservedMs: ms(`plan.phases[${i}].reservedMs`, e.reservedMs) }
  })
  if (phases.length !== PHASES.length)
    bad('plan.phases', `must list the ${PHASES.length} phases ${PHASES.join(', ')}; got ${phases.length}`)
  const sum = phases.reduce((s, e) => s + e.reservedMs, 0)
  if (sum !== totalMs) bad('plan.totalMs', `is ${totalMs} but the phases' reservedMs add up to ${sum}`)
  if ((phases[0]?.reservedMs ?? 0) < drainDelayMs)
    bad(
      'plan.phases[0].reservedMs',
      `(readiness) is ${phases[0]?.reservedMs} but the drain delay alone is ${drainDelayMs}`,
    )
  let drainDelay: DoctorDrainDelay | undefined
  const fixed =
    p.drainDelay !== null && typeof p.drainDelay === 'object' && (p.drainDelay as { mode?: unknown }).mode === 'fixed'
  if (fixed) {
    // `shutdown.plan()` as core gives it, with a fixed delay: nothing beyond `drainDelayMs`.
    const d = object('plan.drainDelay', p.drainDelay, DRAIN_DELAY_FILE_KEYS, ['mode', 'minMs', 'maxMs'])
    if (d.minMs !== drainDelayMs || d.maxMs !== drainDelayMs || d.quietMs !== undefined)
      bad('plan.drainDelay', `a fixed delay has minMs = maxMs = drainDelayMs (${drainDelayMs}) and no quietMs`)
  } else if (p.drainDelay !== undefined) {
    const d = object('plan.drainDelay', p.drainDelay, DRAIN_DELAY_FILE_KEYS, DRAIN_DELAY_KEYS)
    if (d.mode !== undefined && d.mode !== 'adaptive')
      bad('plan.drainDelay.mode', `must be "adaptive" or "fixed"; got ${describeValue(d.mode)}`)
    drainDelay = {
      minMs: ms('plan.drainDelay.minMs', d.minMs),
      maxMs: ms('plan.drainDelay.maxMs', d.maxMs),
      quietMs: ms('plan.drainDelay.quietMs', d.quietMs),
    }
    if (drainDelay.minMs > drainDelay.maxMs)
      bad('plan.drainDelay.minMs', `(${drainDelay.minMs}) is more than maxMs (${drainDelay.maxMs})`)
    if (drainDelay.maxMs !== drainDelayMs)
      bad('plan.drainDelayMs', `must be the adaptive delay's maxMs (${drainDelay.maxMs}); got ${drainDelayMs}`)
  }

  const h = object('http', file.http, HTTP_KEYS, ['port'])
  const port = h.port
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)
    bad('http.port', `must be a port number (1–65535); got ${describeValue(port)}`)
  const path = (key: 'shutdownPath' | 'readyPath' | 'livePath') => {
    const v = h[key] ?? DOCTOR_DEFAULTS.http[key]
    return typeof v === 'string' && v.startsWith('/') && !/\s/.test(v)
      ? v
      : bad(`http.${key}`, `must be a path starting with /; got ${describeValue(v)}`)
  }
  const https = h.https ?? DOCTOR_DEFAULTS.http.https
  if (typeof https !== 'boolean') bad('http.https', `must be true or false; got ${describeValue(https)}`)

  return {
    plan: {
      gracePeriodMs,
      safetyMarginMs,
      drainDelayMs,
      availableMs: p.availableMs as number,
      exitFlushMs: p.exitFlushMs === undefined ? 0 : ms('plan.exitFlushMs', p.exitFlushMs),
      phases,
      totalMs,
      fits: p.fits as boolean,
      ...(drainDelay ? { drainDelay } : {}),
    },
    http: {
      port: port as number,
      shutdownPath: path('shutdownPath'),
      readyPath: path('readyPath'),
      livePath: path('livePath'),
      https: https as boolean,
    },
  }
}
