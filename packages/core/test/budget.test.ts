import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { memoryLogger, testShutdown } from './helpers.js'

const hang = () => new Promise<never>(() => {})

describe('budgets (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('cuts an overrunning phase so the later phases keep their reserved time', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 10_000, safetyMarginMs: 1000 })
    const flushed: number[] = []
    shutdown.addTask({ name: 'drain-http', phase: 'drain', timeoutMs: 20_000, run: hang })
    shutdown.addTask({
      name: 'flush-cache',
      phase: 'flush',
      timeoutMs: 2000,
      run: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1500))
        flushed.push(Date.now())
      },
    })
    shutdown.addTask({ name: 'release-locks', phase: 'release', timeoutMs: 1000, run: () => {} })
    shutdown.addTask({ name: 'close-pool', phase: 'close', timeoutMs: 500, run: () => {} })

    const run = shutdown.shutdown()
    await vi.advanceTimersByTimeAsync(10_000)
    const report = await run
    const task = (name: string) => report.phases.flatMap((p) => p.tasks).find((t) => t.name === name)!

    expect(report.deadline).toBe(9000)
    // 9000 − 100 (exit reserve) − 2000 − 1000 − 500 reserved for the phases after drain.
    expect(task('drain-http')).toMatchObject({ outcome: 'timeout', budgetMs: 5400, durationMs: 5400 })
    expect(task('drain-http').error).toMatch(/cut after 5400 ms to keep the time reserved/)
    expect(task('flush-cache')).toMatchObject({ outcome: 'ok', start: 5400, budgetMs: 2000 })
    expect(flushed).toEqual([6900])
    expect(task('release-locks').outcome).toBe('ok')
    expect(task('close-pool').outcome).toBe('ok')
    expect(report.end).toBeLessThanOrEqual(report.deadline)
    expect(report.exitCode).toBe(1)
  })

  it('lets a phase use spare time beyond its own tasks when they allow it', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 30_000 })
    shutdown.addTask({ name: 'drain', phase: 'drain', timeoutMs: 8000, run: hang })
    shutdown.addTask({ name: 'close', phase: 'close', timeoutMs: 1000, run: () => {} })
    const run = shutdown.shutdown()
    await vi.advanceTimersByTimeAsync(30_000)
    const report = await run
    expect(report.phases.find((p) => p.name === 'drain')).toMatchObject({ budgetMs: 27_900 })
    // The task's own timeout still applies within that phase budget.
    expect(report.phases.find((p) => p.name === 'drain')?.tasks[0]).toMatchObject({ budgetMs: 8000, durationMs: 8000 })
  })

  it("when budgets do not fit, keeps the later phases' time first, then shares what is left in proportion", async () => {
    const shutdown = testShutdown({ gracePeriodMs: 3000, safetyMarginMs: 0 })
    shutdown.addTask({ name: 'drain', phase: 'drain', timeoutMs: 1000, run: hang })
    shutdown.addTask({ name: 'flush', phase: 'flush', timeoutMs: 2000, run: hang })
    shutdown.addTask({ name: 'release', phase: 'release', timeoutMs: 2000, run: hang })
    const run = shutdown.shutdown()
    await vi.advanceTimersByTimeAsync(3000)
    const report = await run
    const budget = (name: string) => report.phases.find((p) => p.name === name)!.budgetMs
    // 2900 ms available (100 ms kept for the exit) for 5000 ms declared: not even flush + release fit,
    // so drain gets its share 2900 × 1000 / 5000; then release fits again and keeps its 2000 ms.
    expect(budget('drain')).toBe(580)
    expect(budget('flush')).toBe(320)
    expect(budget('release')).toBe(2000)
    expect(report.end).toBeLessThanOrEqual(2900)
  })

  it('when only the later phases fit, cuts the earlier one to what they leave', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 3000, safetyMarginMs: 0 })
    shutdown.addTask({ name: 'drain', phase: 'drain', timeoutMs: 4000, run: hang })
    shutdown.addTask({ name: 'flush', phase: 'flush', timeoutMs: 2000, run: hang })
    const run = shutdown.shutdown()
    await vi.advanceTimersByTimeAsync(3000)
    const report = await run
    expect(report.phases.find((p) => p.name === 'drain')!.budgetMs).toBe(900)
    expect(report.phases.find((p) => p.name === 'flush')!.tasks[0]).toMatchObject({ budgetMs: 2000, durationMs: 2000 })
  })

  it('never shortens the drain delay when the budgets do not fit: later phases squeeze instead', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 10_000, drainDelayMs: 1500 })
    let drainAt = -1
    shutdown.addTask({
      name: 'drain',
      phase: 'drain',
      timeoutMs: 10_000,
      run: () => {
        drainAt = Date.now()
        return hang()
      },
    })
    shutdown.addTask({ name: 'close', phase: 'close', timeoutMs: 2000, run: () => {} })
    const run = shutdown.shutdown()
    await vi.advanceTimersByTimeAsync(10_000)
    const report = await run
    expect(drainAt).toBe(1500)
    expect(report.phases.find((p) => p.name === 'readiness')?.budgetMs).toBe(1500)
    // 8900 ms available − 1500 ms delay − 2000 ms kept for close.
    expect(report.phases.find((p) => p.name === 'drain')?.budgetMs).toBe(5400)
    expect(report.phases.find((p) => p.name === 'close')?.tasks[0]?.outcome).toBe('ok')
  })

  it('the readiness phase holds for drainDelayMs before the drain phase', async () => {
    const shutdown = testShutdown({ drainDelayMs: 7000 })
    let drainAt = -1
    shutdown.addTask({
      name: 'd',
      phase: 'drain',
      run: () => {
        drainAt = Date.now()
      },
    })
    const run = shutdown.shutdown()
    await vi.advanceTimersByTimeAsync(7000)
    await run
    expect(drainAt).toBe(7000)
  })
})

describe('budgets (real clock)', () => {
  it('skips tasks when no time is left, and reports them as skipped', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 400, safetyMarginMs: 50 })
    shutdown.addTask({
      name: 'blocks-the-loop',
      phase: 'drain',
      run: () => {
        const until = Date.now() + 450
        while (Date.now() < until) {
          // A synchronous hog: no timer can fire until it returns.
        }
      },
    })
    shutdown.addTask({ name: 'never-got-time', phase: 'release', run: () => {} })
    const report = await shutdown.shutdown()
    const release = report.phases.find((p) => p.name === 'release')!
    expect(release.tasks[0]).toMatchObject({ outcome: 'skipped', code: 'LAMEDUCK_ERR_TASK_SKIPPED' })
    expect(report.exitCode).toBe(1)
  })
})

describe('configuration that cannot fit', () => {
  it('warns once at start-up with the numbers, and again only when they change', async () => {
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger, gracePeriodMs: 10_000, drainDelayMs: 5000 })
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.message))
    shutdown.addTask({ name: 'drain', phase: 'drain', timeoutMs: 3000, run: () => {} })
    shutdown.addTask({ name: 'flush', phase: 'flush', timeoutMs: 3000, run: () => {} })
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('declared budgets need 11000 ms (readiness 5000 + drain 3000 + flush 3000)')
    expect(warnings[0]).toContain('only 8900 ms fit in gracePeriodMs 10000 − safetyMarginMs 1000')
    expect(shutdown.plan()).toMatchObject({ totalMs: 11_000, availableMs: 8900, fits: false })
    shutdown.addTask({ name: 'other-flush', phase: 'flush', timeoutMs: 1000, run: () => {} })
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings).toHaveLength(1)
    shutdown.addTask({ name: 'close', phase: 'close', timeoutMs: 1000, run: () => {} })
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings).toHaveLength(2)
    expect(logger.entries.filter((e) => e.fields.code === 'LAMEDUCK_WARN_BUDGET_EXCEEDS_GRACE')).toHaveLength(2)
  })

  it('stays quiet when everything fits', async () => {
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger, gracePeriodMs: 30_000, drainDelayMs: 5000 })
    shutdown.addTask({ name: 'drain', phase: 'drain', timeoutMs: 10_000, run: () => {} })
    await new Promise((resolve) => setImmediate(resolve))
    expect(logger.entries.filter((e) => e.level === 'warn')).toEqual([])
    expect(shutdown.plan().fits).toBe(true)
  })
})
