import { type Clock, sleep } from './clock.js'
import { DEFAULTS } from './defaults.js'
import { requireDuration } from './duration.js'
import { describeValue, InvalidOptionError } from './errors.js'
import { checkOptions } from './validate.js'

// The drain delay: how long the `readiness` phase keeps serving with readiness failing while the endpoint
// removal propagates. A number is a fixed delay. `{ minMs, maxMs, quietMs }` is adaptive: at least `minMs`,
// then over as soon as no new connection has arrived for `quietMs` — the load balancers have stopped
// sending — and `maxMs` at the latest. Budgets (`plan()`, the fit warning, the doctor) count `maxMs`.

/** The adaptive form of the `drainDelayMs` option. */
export interface AdaptiveDrainDelay {
  /** The delay lasts at least this long, traffic or not. Default: {@link DEFAULTS}`.drainDelay.minMs`. */
  minMs?: number
  /** The delay ends at this point at the latest; the budget counts it. Required. */
  maxMs: number
  /**
   * The delay ends once no new connection (or HTTP/2 stream) has arrived for this long, after `minMs`; less
   * than `maxMs`. Default: {@link DEFAULTS}`.drainDelay.quietMs` (half of `maxMs` when that is shorter).
   */
  quietMs?: number
}

/** The drain delay as resolved: a fixed delay has `minMs === maxMs` and no `quietMs`. */
export type ResolvedDrainDelay =
  | { mode: 'fixed'; minMs: number; maxMs: number }
  | { mode: 'adaptive'; minMs: number; maxMs: number; quietMs: number }

/**
 * Why the delay ended: `fixed` (a number, waited in full), `quiet` (no new connection for `quietMs`), `max`
 * (traffic kept arriving, or nothing reported traffic), `deadline` (the grace period ended it first).
 */
export type DrainDelayEnd = 'fixed' | 'quiet' | 'max' | 'deadline'

/** What the report says of the drain delay. */
export interface DrainDelayReport {
  mode: 'fixed' | 'adaptive'
  /** How long the `readiness` phase kept serving with readiness failing. */
  durationMs: number
  endedBy: DrainDelayEnd
  /** New connections (and HTTP/2 streams) that arrived during the delay, as the traffic sources saw them. */
  arrivals: number
  /** ms from the trigger to the last arrival; absent when none arrived. */
  lastArrivalMs?: number
  /** How many traffic sources (e.g. `drainHttpServer` drains) fed the delay. */
  sources: number
}

const ADAPTIVE_KEYS = ['minMs', 'maxMs', 'quietMs'] as const

export function resolveDrainDelay(value: unknown): ResolvedDrainDelay {
  if (typeof value !== 'object' || value === null) {
    const ms = requireDuration('drainDelayMs', value)
    return { mode: 'fixed', minMs: ms, maxMs: ms }
  }
  if (Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype)
    throw new InvalidOptionError(
      'drainDelayMs',
      `expected a number of milliseconds or { minMs, maxMs, quietMs }, got ${Array.isArray(value) ? 'an array' : describeValue(value)}`,
    )
  checkOptions('drainDelayMs', value, ADAPTIVE_KEYS)
  const o = value as AdaptiveDrainDelay
  if (o.maxMs === undefined)
    throw new InvalidOptionError(
      'drainDelayMs.maxMs',
      'is required: the adaptive delay ends at maxMs at the latest, and the budget counts it',
    )
  const maxMs = requireDuration('drainDelayMs.maxMs', o.maxMs)
  const minMs = requireDuration('drainDelayMs.minMs', o.minMs ?? Math.min(DEFAULTS.drainDelay.minMs, maxMs))
  // Defaulted, it stays under maxMs (half of it at most): a quiet period as long as maxMs could never end it.
  const quietMs = requireDuration(
    'drainDelayMs.quietMs',
    o.quietMs ?? Math.min(DEFAULTS.drainDelay.quietMs, Math.floor(maxMs / 2)),
  )
  if (minMs > maxMs)
    throw new InvalidOptionError('drainDelayMs.minMs', `${minMs} must not be greater than maxMs (${maxMs})`)
  if (quietMs === 0)
    throw new InvalidOptionError(
      'drainDelayMs.quietMs',
      'must be greater than 0 (a quiet period of 0 would end the delay at minMs: give a number for a fixed delay)',
    )
  if (quietMs >= maxMs)
    throw new InvalidOptionError(
      'drainDelayMs.quietMs',
      `${quietMs} must be less than maxMs (${maxMs}): the delay could never end quiet, only at maxMs — give ` +
        'drainDelayMs a number for a fixed delay',
    )
  return { mode: 'adaptive', minMs, maxMs, quietMs }
}

/** The coordinator's record of traffic, fed by the sources adapters register through the kit. */
export class TrafficLog {
  sources = 0
  arrivals = 0
  lastArrivalAt: number | undefined
  #watching = false

  constructor(private readonly clock: Clock) {}

  /** A source's `arrived()`: counted only while a delay is being waited, fixed or adaptive. */
  arrived(): void {
    if (!this.#watching) return
    this.arrivals++
    this.lastArrivalAt = this.clock.now()
  }

  /**
   * Waits the delay of a `readiness` phase that started at `start` and must end by `cutoff`; `onUnfed` is
   * called when an adaptive delay has no source to learn from (it then waits `maxMs`).
   */
  async wait(delay: ResolvedDrainDelay, start: number, cutoff: number, onUnfed: () => void): Promise<DrainDelayReport> {
    const { clock } = this
    const sources = this.sources
    const report = (endedBy: DrainDelayEnd): DrainDelayReport => ({
      mode: delay.mode,
      durationMs: Math.round(clock.now() - start),
      endedBy,
      arrivals: this.arrivals,
      ...(this.lastArrivalAt === undefined ? {} : { lastArrivalMs: Math.round(this.lastArrivalAt - start) }),
      sources,
    })
    const maxEnd = start + delay.maxMs
    const cut = cutoff < maxEnd
    const end = Math.min(maxEnd, cutoff)
    // Arrivals are counted in a fixed delay too: one shortly before its end says the delay is too short.
    this.#watching = true
    try {
      if (delay.mode === 'fixed' || sources === 0) {
        if (delay.mode === 'adaptive') onUnfed()
        await sleep(clock, end - start).promise
        return report(cut ? 'deadline' : delay.mode === 'fixed' ? 'fixed' : 'max')
      }
      const { quietMs } = delay
      const minEnd = start + delay.minMs
      for (;;) {
        const now = clock.now()
        const quietAt = Math.max(minEnd, (this.lastArrivalAt ?? start) + quietMs)
        if (now >= quietAt && quietAt <= end) return report('quiet')
        if (now >= end) return report(cut ? 'deadline' : 'max')
        await sleep(clock, Math.min(quietAt, end) - now).promise
      }
    } finally {
      this.#watching = false
    }
  }
}

/**
 * Where a coordinator takes traffic sources: a symbol known to every copy of core (ESM and CommonJS side by
 * side), so the kit of one copy can feed the coordinator of another.
 */
export const TRAFFIC_SOURCE = Symbol.for('lameduck.trafficSource.v1')

/** What a coordinator's {@link TRAFFIC_SOURCE} method returns. */
export interface TrafficFeed {
  arrived(): void
  remove(): void
}
