import { InvalidOptionError, type ShutdownEvents, StartupClosedError, UnknownProbeError } from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { closedAfterEach, delay, memoryLogger, testShutdown } from './helpers.js'
import { manualClock } from './manual-clock.js'

// Misuse and faults of shutdown.health and shutdown.startup, as a JavaScript caller or a broken dependency
// makes them.
const coordinator = closedAfterEach()

describe('shutdown.health misuse and faults', () => {
  it('status() of an unknown probe throws UnknownProbeError at the call, not an empty ok', () => {
    const { health } = coordinator()
    health.check('db', () => false)
    expect(() => health.status('readyness' as never)).toThrow(UnknownProbeError)
    expect(() => health.status(undefined as never)).toThrow(/unknown probe undefined/)
  })

  it('a check that throws synchronously, or returns what is not a result, is failing', async () => {
    const shutdown = coordinator()
    shutdown.health.check('sync', () => {
      throw new Error('sync throw')
    })
    shutdown.health.check('string', () => 'ok' as never)
    shutdown.health.check('nothing', () => undefined as never)
    shutdown.health.check('bad-status', () => ({ status: 'green' }) as never)
    const report = await shutdown.health.status('readiness')
    expect(report.status).toBe('failing')
    expect(report.checks.sync).toMatchObject({ status: 'failing', error: 'sync throw' })
    for (const name of ['string', 'nothing', 'bad-status'])
      expect(report.checks[name]).toMatchObject({
        status: 'failing',
        error: expect.stringMatching(/expected a boolean/),
      })
  })

  it('a logger that throws on the change line does not wedge the check, nor reject status()', async () => {
    const logger = memoryLogger()
    const warn = logger.warn
    logger.warn = () => {
      throw new Error('logger down')
    }
    const shutdown = coordinator({ logger })
    let up = false
    shutdown.health.check('db', () => up, { cacheMs: 0 })
    expect((await shutdown.health.status('readiness')).status).toBe('failing')
    logger.warn = warn
    up = true
    expect((await shutdown.health.status('readiness')).status).toBe('ok')
  })

  it('remove() while a run is in flight: the late result is neither logged nor told as a change', async () => {
    const logger = memoryLogger()
    const shutdown = coordinator({ logger })
    const events: ShutdownEvents['health'][] = []
    shutdown.on('health', (e) => events.push(e))
    const reg = shutdown.health.check('gone', () => delay(30).then(() => false))
    const pending = shutdown.health.status('readiness')
    reg.remove()
    expect((await pending).checks.gone?.status).toBe('failing')
    expect(events).toEqual([])
    expect(logger.entries.filter((e) => e.fields.event === 'health.check')).toEqual([])
    expect((await shutdown.health.status('readiness')).checks).toEqual({})
  })

  it("a check's timeoutMs is on the coordinator's clock", async () => {
    const clock = manualClock()
    const shutdown = testShutdown({ clock })
    shutdown.health.check('hangs', () => new Promise<boolean>(() => {}), { timeoutMs: 5_000 })
    let settled = false
    const report = shutdown.health.status('readiness').then((r) => {
      settled = true
      return r
    })
    await delay(20)
    expect(settled).toBe(false)
    clock.advance(5_000)
    expect((await report).checks.hangs).toMatchObject({ status: 'failing', durationMs: 5_000 })
  })
})

describe('shutdown.startup misuse and faults', () => {
  it("a task's timeoutMs is on the coordinator's clock", async () => {
    const clock = manualClock()
    const shutdown = testShutdown({ clock })
    shutdown.startup.task('slow', () => new Promise(() => {}), { timeoutMs: 10_000 })
    clock.advance(9_999)
    expect(shutdown.startup.state).toBe('pending')
    clock.advance(1)
    expect(shutdown.startup.report().tasks[0]).toMatchObject({ outcome: 'timeout', durationMs: 10_000 })
  })

  it('a task that ignores its abort signal does not hold the shutdown', async () => {
    const shutdown = coordinator({ drainDelayMs: 0 })
    shutdown.startup.task('stubborn', () => new Promise(() => {}), { timeoutMs: 60_000 })
    const t0 = performance.now()
    const report = await shutdown.shutdown('test')
    expect(performance.now() - t0).toBeLessThan(2_000)
    expect(report.startup?.tasks[0]?.outcome).toBe('aborted')
  })

  it('done() twice resolves both; task() after it throws StartupClosedError', async () => {
    const shutdown = coordinator()
    shutdown.startup.task('a', () => delay(10))
    const [one, two] = await Promise.all([shutdown.startup.done(), shutdown.startup.done()])
    expect(one.state).toBe('done')
    expect(two).toEqual(one)
    expect((await shutdown.startup.done()).state).toBe('done')
    expect(() => shutdown.startup.task('b', () => {})).toThrow(StartupClosedError)
  })

  it('wrong option types throw at the call', () => {
    const { startup, health } = coordinator()
    expect(() => startup.task('a', () => {}, 5 as never)).toThrow(InvalidOptionError)
    expect(() => startup.task('a', () => {}, { timeoutMs: '5' as never })).toThrow(/timeoutMs/)
    expect(() => health.check('a', () => true, null as never)).toThrow(InvalidOptionError)
    expect(() => health.check('a', () => true, { affects: 'readiness' as never })).toThrow(InvalidOptionError)
    expect(startup.report().tasks).toEqual([])
    expect(health.names()).toEqual([])
  })
})
