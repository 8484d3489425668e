import {
  createShutdown,
  DEFAULTS,
  InvalidDurationError,
  InvalidOptionError,
  type ShutdownReport,
  UnknownOptionError,
} from '@lameduck/core'
import { isProbeTraffic, trafficSource } from '@lameduck/core/adapter'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { memoryLogger, testShutdown } from './helpers.js'

const adaptive = { minMs: 1000, maxMs: 10_000, quietMs: 1000 }

/** Runs a shutdown on the fake clock, calling `arrive()` at each of `arrivals` (ms after the trigger). */
async function runWith(
  shutdown: ReturnType<typeof testShutdown>,
  arrivals: number[],
  arrive: () => void,
): Promise<{ report: ShutdownReport; drainAt: number }> {
  let drainAt = -1
  shutdown.addTask({
    name: 'd',
    phase: 'drain',
    run: () => {
      drainAt = Date.now()
    },
  })
  for (const at of arrivals) setTimeout(arrive, at)
  const run = shutdown.shutdown()
  await vi.advanceTimersByTimeAsync(40_000)
  return { report: await run, drainAt }
}

describe('adaptive drain delay (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('ends quietMs after the last new connection, once minMs has passed', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 30_000, drainDelayMs: adaptive })
    const source = trafficSource(shutdown, 'test')
    const { report, drainAt } = await runWith(shutdown, [200, 900, 1700, 2600], source.arrived)
    expect(drainAt).toBe(3600)
    expect(report.drainDelay).toEqual({
      mode: 'adaptive',
      durationMs: 3600,
      endedBy: 'quiet',
      arrivals: 4,
      lastArrivalMs: 2600,
      sources: 1,
    })
  })

  it('lasts minMs at least, when no traffic arrives at all', async () => {
    const shutdown = testShutdown({ drainDelayMs: { minMs: 2500, maxMs: 10_000, quietMs: 500 } })
    trafficSource(shutdown, 'test')
    const { report, drainAt } = await runWith(shutdown, [], () => {})
    expect(drainAt).toBe(2500)
    expect(report.drainDelay).toMatchObject({ endedBy: 'quiet', arrivals: 0, durationMs: 2500 })
    expect(report.drainDelay.lastArrivalMs).toBeUndefined()
  })

  it('ends at maxMs when traffic keeps arriving', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 30_000, drainDelayMs: adaptive })
    const source = trafficSource(shutdown, 'test')
    const every300 = Array.from({ length: 60 }, (_, i) => i * 300)
    const { report, drainAt } = await runWith(shutdown, every300, source.arrived)
    expect(drainAt).toBe(10_000)
    expect(report.drainDelay).toMatchObject({ endedBy: 'max', durationMs: 10_000 })
    expect(report.drainDelay.arrivals).toBeGreaterThan(30)
  })

  it('counts every source; a removed source no longer counts', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 30_000, drainDelayMs: adaptive })
    const a = trafficSource(shutdown, 'a')
    const b = trafficSource(shutdown, 'b')
    b.remove()
    b.remove() // idempotent
    setTimeout(b.arrived, 4000) // removed: ignored
    const { report, drainAt } = await runWith(shutdown, [500], a.arrived)
    expect(drainAt).toBe(1500)
    expect(report.drainDelay).toMatchObject({ sources: 1, arrivals: 1, endedBy: 'quiet' })
  })

  it('with no source, waits maxMs in full and warns why', async () => {
    const logger = memoryLogger()
    const shutdown = createShutdown({ exit: false, signals: [], logger, drainDelayMs: adaptive })
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.code))
    const { report, drainAt } = await runWith(shutdown, [], () => {})
    expect(drainAt).toBe(10_000)
    expect(report.drainDelay).toMatchObject({ endedBy: 'max', sources: 0 })
    expect(warnings).toEqual(['LAMEDUCK_WARN_DRAIN_DELAY_UNFED'])
  })

  it('is cut by the grace period like a fixed delay (endedBy deadline), and the budget counts maxMs', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 6000, safetyMarginMs: 1000, drainDelayMs: adaptive })
    const source = trafficSource(shutdown, 'test')
    const plan = shutdown.plan()
    expect(plan.drainDelayMs).toBe(10_000)
    expect(plan.drainDelay).toEqual({ mode: 'adaptive', ...adaptive })
    expect(plan.phases.find((p) => p.phase === 'readiness')?.reservedMs).toBe(10_000)
    expect(plan.fits).toBe(false)
    const every200 = Array.from({ length: 40 }, (_, i) => i * 200)
    const { report } = await runWith(shutdown, every200, source.arrived)
    expect(report.drainDelay.endedBy).toBe('deadline')
    expect(report.drainDelay.durationMs).toBeLessThan(5000)
  })

  it('a number keeps its meaning: waited in full (endedBy fixed), arrivals counted for the report', async () => {
    const shutdown = testShutdown({ drainDelayMs: 3000 })
    const source = trafficSource(shutdown, 'test')
    const { report, drainAt } = await runWith(shutdown, [100, 2900], source.arrived)
    expect(drainAt).toBe(3000)
    expect(report.drainDelay).toEqual({
      mode: 'fixed',
      durationMs: 3000,
      endedBy: 'fixed',
      arrivals: 2,
      lastArrivalMs: 2900,
      sources: 1,
    })
    expect(shutdown.config.drainDelay).toEqual({ mode: 'fixed', minMs: 3000, maxMs: 3000 })
  })

  it('arrivals before the trigger and after the delay are not counted', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 30_000, drainDelayMs: adaptive })
    const source = trafficSource(shutdown, 'test')
    source.arrived()
    const { report } = await runWith(shutdown, [500, 5000, 6000], source.arrived)
    expect(report.drainDelay).toMatchObject({ arrivals: 1, durationMs: 1500, endedBy: 'quiet' })
  })

  it('logs how long the delay lasted and why it ended', async () => {
    const logger = memoryLogger()
    const shutdown = createShutdown({ exit: false, signals: [], logger, drainDelayMs: adaptive })
    const source = trafficSource(shutdown, 'test')
    await runWith(shutdown, [300], source.arrived)
    const line = logger.entries.find((e) => e.fields.event === 'drain-delay.end')
    expect(line?.fields).toMatchObject({ mode: 'adaptive', endedBy: 'quiet', durationMs: 1300, arrivals: 1 })
    expect(line?.message).toBe('drain delay ended after 1300 ms: quiet (1 new connection(s) during it)')
  })
})

describe('adaptive drain delay: configuration', () => {
  const base = { exit: false, logger: false, signals: [] } as const

  it('fills minMs and quietMs from DEFAULTS, minMs never above maxMs', () => {
    expect(createShutdown({ ...base, drainDelayMs: { maxMs: 20_000 } }).config.drainDelay).toEqual({
      mode: 'adaptive',
      minMs: DEFAULTS.drainDelay.minMs,
      maxMs: 20_000,
      quietMs: DEFAULTS.drainDelay.quietMs,
    })
    expect(createShutdown({ ...base, drainDelayMs: { maxMs: 500 } }).config.drainDelay).toMatchObject({
      minMs: 500,
      quietMs: 250,
    })
    expect(createShutdown({ ...base, drainDelayMs: { maxMs: 20_000 } }).config.drainDelayMs).toBe(20_000)
  })

  it.each([
    [{}, InvalidOptionError, /drainDelayMs\.maxMs: is required/],
    [{ minMs: 1000 }, InvalidOptionError, /drainDelayMs\.maxMs/],
    [
      { maxMs: 5000, minMs: 6000 },
      InvalidOptionError,
      /drainDelayMs\.minMs: 6000 must not be greater than maxMs \(5000\)/,
    ],
    [{ maxMs: 5000, quietMs: 0 }, InvalidOptionError, /drainDelayMs\.quietMs: must be greater than 0/],
    [{ maxMs: 300, quietMs: 5000 }, InvalidOptionError, /drainDelayMs\.quietMs: 5000 must be less than maxMs \(300\)/],
    [{ maxMs: -1 }, InvalidDurationError, /drainDelayMs\.maxMs/],
    [{ maxMs: '5000' }, InvalidDurationError, /drainDelayMs\.maxMs/],
    [{ maxMs: 5000, quietMs: Number.NaN }, InvalidDurationError, /drainDelayMs\.quietMs/],
    [{ maxMs: 5000, quiet: 1000 }, UnknownOptionError, /quietMs/],
    [{ max: 5000 }, UnknownOptionError, /maxMs/],
  ])('rejects drainDelayMs %j', (value, type, message) => {
    expect(() => createShutdown({ ...base, drainDelayMs: value as never })).toThrow(type)
    expect(() => createShutdown({ ...base, drainDelayMs: value as never })).toThrow(message)
  })

  it('rejects null and arrays as clearly as other wrong types', () => {
    expect(() => createShutdown({ ...base, drainDelayMs: null as never })).toThrow(InvalidDurationError)
    expect(() => createShutdown({ ...base, drainDelayMs: [5000] as never })).toThrow(
      /drainDelayMs: expected a number of milliseconds or \{ minMs, maxMs, quietMs \}, got an array/,
    )
  })
})

describe('isProbeTraffic', () => {
  it('knows the kubelet, lameduck-prestop and the cloud health checkers; not browsers or curl', () => {
    for (const ua of [
      'kube-probe/1.31',
      'kube-lifecycle/1.31',
      'lameduck-prestop',
      'ELB-HealthChecker/2.0',
      'GoogleHC/1.0',
    ])
      expect(isProbeTraffic(ua)).toBe(true)
    for (const ua of [undefined, '', 'curl/8.5.0', 'Mozilla/5.0', 'node', 'xkube-probe/1'])
      expect(isProbeTraffic(ua)).toBe(false)
  })
})

describe('trafficSource on a coordinator without adaptive delays', () => {
  it('returns a source that does nothing', () => {
    const foreign = testShutdown()
    const bare = new Proxy(foreign, {
      get: (target, key) => (typeof key === 'symbol' ? undefined : Reflect.get(target, key)),
    })
    const source = trafficSource(bare, 'x')
    expect(() => source.arrived()).not.toThrow()
    expect(source.name).toBe('x')
    source.remove()
  })
})
