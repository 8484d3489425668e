import {
  DEFAULTS,
  DuplicateTaskError,
  InvalidDurationError,
  InvalidOptionError,
  UnknownOptionError,
  UnknownProbeError,
} from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { closedAfterEach, delay, memoryLogger, testShutdown } from './helpers.js'
import { manualClock } from './manual-clock.js'

const coordinator = closedAfterEach()

describe('shutdown.health', () => {
  it('aggregates ok, degraded and failing checks per probe', async () => {
    const shutdown = coordinator()
    shutdown.health.check('db', () => true)
    shutdown.health.check('cache', async () => ({ status: 'degraded', details: { hitRate: 0.1 } }), {
      affects: ['readiness', 'liveness'],
    })
    expect((await shutdown.health.status('readiness')).status).toBe('degraded')
    const live = await shutdown.health.status('liveness')
    expect(Object.keys(live.checks)).toEqual(['cache'])
    expect(live.checks.cache?.details).toEqual({ hitRate: 0.1 })
    shutdown.health.check('queue', () => {
      throw new Error('queue down')
    })
    const ready = await shutdown.health.status('readiness')
    expect(ready.status).toBe('failing')
    expect(ready.checks.queue).toMatchObject({ status: 'failing', error: 'queue down', critical: true })
    expect(ready.checks.db?.status).toBe('ok')
  })

  it('a failing non-critical check only degrades; false is failing', async () => {
    const shutdown = coordinator()
    shutdown.health.check('optional', () => false, { critical: false })
    const report = await shutdown.health.status('readiness')
    expect(report.status).toBe('degraded')
    expect(report.checks.optional).toMatchObject({ status: 'failing', error: 'the check returned false' })
  })

  it('a hanging check fails at its timeoutMs, its signal aborted, and is not called again while it hangs', async () => {
    const shutdown = coordinator()
    let calls = 0
    let aborted: unknown
    shutdown.health.check(
      'hangs',
      (signal) => {
        calls++
        signal.addEventListener('abort', () => {
          aborted = signal.reason
        })
        return new Promise<boolean>(() => {})
      },
      { timeoutMs: 50, cacheMs: 0 },
    )
    const t0 = performance.now()
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => shutdown.health.status('readiness')))
    expect(performance.now() - t0).toBeLessThan(1_000)
    expect(calls).toBe(1)
    for (const r of [a, b, c])
      expect(r?.checks.hangs).toMatchObject({ status: 'failing', code: 'LAMEDUCK_ERR_HEALTH_CHECK_TIMEOUT' })
    expect((aborted as { code?: string }).code).toBe('LAMEDUCK_ERR_HEALTH_CHECK_TIMEOUT')
    const again = await shutdown.health.status('readiness')
    expect(calls).toBe(1)
    expect(again.checks.hangs?.error).toMatch(/has not settled yet/)
  })

  it('caches a result for cacheMs on the coordinator clock', async () => {
    const clock = manualClock()
    // Not closed: its run would wait on this clock.
    const shutdown = testShutdown({ clock })
    let calls = 0
    shutdown.health.check('counted', () => ++calls > 0, { cacheMs: 1_000 })
    await shutdown.health.status('readiness')
    clock.advance(999)
    await shutdown.health.status('readiness')
    expect(calls).toBe(1)
    clock.advance(2)
    await shutdown.health.status('readiness')
    expect(calls).toBe(2)
  })

  it('remove() unregisters; the name is then free', async () => {
    const shutdown = coordinator()
    const reg = shutdown.health.check('x', () => false)
    expect(() => shutdown.health.check('x', () => true)).toThrow(DuplicateTaskError)
    expect(() => shutdown.health.check('x', () => true)).toThrow(/health check named "x"/)
    reg.remove()
    expect((await shutdown.health.status('readiness')).status).toBe('ok')
    using again = shutdown.health.check('x', () => true)
    expect(again.name).toBe('x')
    expect(shutdown.health.names()).toEqual(['x'])
  })

  it('latest(): the last result of each registered check that has run, without running any', async () => {
    const shutdown = coordinator()
    let calls = 0
    shutdown.health.check('db', () => {
      calls++
      return false
    })
    const cache = shutdown.health.check('cache', () => true, { affects: ['liveness'] })
    expect(shutdown.health.latest()).toEqual({})
    await shutdown.health.status('readiness')
    expect(calls).toBe(1)
    expect(shutdown.health.latest()).toEqual({ db: expect.objectContaining({ status: 'failing', critical: true }) })
    await shutdown.health.status('liveness')
    expect(Object.keys(shutdown.health.latest())).toEqual(['db', 'cache'])
    cache.remove()
    expect(Object.keys(shutdown.health.latest())).toEqual(['db'])
    expect(calls).toBe(1)
  })

  it('refuses bad configuration with stable codes', () => {
    const { health } = coordinator()
    const bad = (f: () => unknown) => {
      try {
        f()
      } catch (error) {
        return error
      }
      throw new Error('did not throw')
    }
    expect(bad(() => health.check('', () => true))).toBeInstanceOf(InvalidOptionError)
    expect(bad(() => health.check('a', 'nope' as never))).toBeInstanceOf(InvalidOptionError)
    expect(bad(() => health.check('a', () => true, { timeoutMs: -1 }))).toBeInstanceOf(InvalidDurationError)
    expect(bad(() => health.check('a', () => true, { cacheMs: Number.NaN }))).toBeInstanceOf(InvalidDurationError)
    expect(bad(() => health.check('a', () => true, { timeoutMs: 0 }))).toBeInstanceOf(InvalidDurationError)
    const unknown = bad(() => health.check('a', () => true, { timeout: 5 } as never)) as UnknownOptionError
    expect(unknown).toBeInstanceOf(UnknownOptionError)
    expect(unknown.suggestion).toBe('timeoutMs')
    const probe = bad(() => health.check('a', () => true, { affects: ['startup'] as never }))
    expect(probe).toBeInstanceOf(UnknownProbeError)
    expect((probe as UnknownProbeError).code).toBe('LAMEDUCK_ERR_UNKNOWN_PROBE')
    expect(bad(() => health.check('a', () => true, { affects: [] }))).toBeInstanceOf(InvalidOptionError)
    expect(bad(() => health.check('a', () => true, { critical: 'yes' as never }))).toBeInstanceOf(InvalidOptionError)
    expect(health.names()).toEqual([])
  })

  it('logs a line when a check changes status, not one per probe', async () => {
    const logger = memoryLogger()
    const shutdown = coordinator({ logger })
    let up = true
    shutdown.health.check('db', () => up, { cacheMs: 0 })
    const lines = () =>
      logger.entries.filter((e) => e.fields.event === 'health.check').map((e) => [e.level, e.fields.status])
    await shutdown.health.status('readiness')
    expect(lines()).toEqual([])
    up = false
    for (let i = 0; i < 3; i++) await shutdown.health.status('readiness')
    up = true
    await shutdown.health.status('readiness')
    expect(lines()).toEqual([
      ['warn', 'failing'],
      ['info', 'ok'],
    ])
  })

  it('uses DEFAULTS.health', async () => {
    const shutdown = coordinator()
    shutdown.health.check('slow', () => delay(DEFAULTS.health.timeoutMs + 500).then(() => true))
    const t0 = performance.now()
    const report = await shutdown.health.status('readiness')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(DEFAULTS.health.timeoutMs - 50)
    expect(report.status).toBe('failing')
    expect((await shutdown.health.status('liveness')).checks).toEqual({})
  })
})
