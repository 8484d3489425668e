import { EXIT_CODES } from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { watchdogOnlyClock } from '../../../test/support/clock.js'
import { delay, memoryLogger, testShutdown } from './helpers.js'

describe('the exit path', () => {
  it('exits once with the report exit code after the run, one event-loop turn after the report', async () => {
    const codes: number[] = []
    const shutdown = testShutdown({ exit: (code) => codes.push(code) })
    shutdown.addTask({ name: 'fails', run: () => Promise.reject(new Error('x')) })
    let sawReportBeforeExit = false
    const report = await shutdown.shutdown()
    sawReportBeforeExit = codes.length === 0
    await delay(20)
    expect(sawReportBeforeExit).toBe(true)
    expect(codes).toEqual([report.exitCode])
    expect(report.exitCode).toBe(EXIT_CODES.failed)
  })

  it('waits for exit holds, then exits', async () => {
    const codes: number[] = []
    const shutdown = testShutdown({ exit: (code) => codes.push(code) })
    const release = shutdown.holdExit()
    await shutdown.shutdown()
    await delay(30)
    expect(codes).toEqual([])
    release()
    release()
    await delay(10)
    expect(codes).toEqual([0])
  })

  it('the watchdog exits just before the deadline when an exit hold is never released', async () => {
    const exits: { code: number; at: number }[] = []
    const timers: number[] = []
    const clock = {
      now: () => Date.now(),
      setTimeout: (callback: () => void, ms: number) => {
        timers.push(ms)
        return setTimeout(callback, ms)
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    }
    const shutdown = testShutdown({
      clock,
      gracePeriodMs: 500,
      safetyMarginMs: 100,
      exit: (code) => exits.push({ code, at: Date.now() }),
    })
    shutdown.holdExit()
    const started = Date.now()
    await shutdown.shutdown()
    // Deadline 400 ms after the trigger; the phases end 40 ms before it (a tenth of the budget, at most
    // 100 ms), and the watchdog is armed for halfway between: 380 ms.
    expect(timers[0]).toBeGreaterThan(370)
    expect(timers[0]).toBeLessThanOrEqual(380)
    await delay(600)
    expect(exits).toHaveLength(1)
    expect(exits[0]!.code).toBe(0)
    expect(exits[0]!.at - started).toBeGreaterThanOrEqual(370)
    expect(exits[0]!.at - started).toBeLessThan(550)
  })

  it('the watchdog exits 124 just before the deadline when the run itself cannot finish, naming what still runs', async () => {
    const clock = watchdogOnlyClock()
    const logger = memoryLogger()
    const exits: { code: number; at: number }[] = []
    const shutdown = testShutdown({
      clock,
      logger,
      gracePeriodMs: 400,
      safetyMarginMs: 100,
      exit: (code) => exits.push({ code, at: Date.now() }),
    })
    shutdown.addTask({ name: 'hangs', phase: 'flush', run: () => new Promise(() => {}) })
    const started = Date.now()
    void shutdown.shutdown()
    await delay(450)
    expect(exits).toEqual([{ code: EXIT_CODES.watchdog, at: expect.any(Number) }])
    expect(EXIT_CODES.watchdog).toBe(124)
    // Deadline 300 ms after the trigger, exit reserve 30 ms: the watchdog fires at 285 ms.
    expect(exits[0]!.at - started).toBeGreaterThanOrEqual(280)
    expect(shutdown.report).toBeUndefined()
    const watchdog = logger.entries.find((entry) => entry.fields.event === 'watchdog')
    expect(watchdog?.level).toBe('error')
    expect(watchdog?.fields).toMatchObject({ running: [{ task: 'hangs' }], completedPhases: ['readiness', 'drain'] })
  })

  it('never exits for exit: false, nor for close() / await using', async () => {
    const codes: number[] = []
    {
      await using shutdown = testShutdown({ exit: (code) => codes.push(code), signals: ['SIGUSR2'] })
      shutdown.addTask({ name: 'x', run: () => {} })
    }
    await delay(20)
    expect(codes).toEqual([])
    expect(process.listenerCount('SIGUSR2')).toBe(0)
  })

  it('uninstall removes its signal handlers so several coordinators can come and go', () => {
    const before = process.listenerCount('SIGHUP')
    const a = testShutdown({ signals: ['SIGHUP'] })
    const b = testShutdown({ signals: ['SIGHUP'] })
    expect(process.listenerCount('SIGHUP')).toBe(before + 2)
    a.uninstall()
    a.uninstall()
    b.uninstall()
    expect(process.listenerCount('SIGHUP')).toBe(before)
  })
})

describe('exit flushes: the very last work before the exit', () => {
  it('run after the report and the exit line, before the exit function, side by side', async () => {
    const logger = memoryLogger()
    const order: string[] = []
    const shutdown = testShutdown({
      logger,
      exit: (code) => order.push(`exit ${code}`),
    })
    shutdown.on('report', () => order.push('report'))
    for (const [name, ms] of [
      ['logs', 40],
      ['traces', 20],
    ] as const)
      shutdown.addExitFlush({
        name,
        run: async () => {
          const linesSoFar = logger.entries.map((e) => e.fields.event)
          order.push(`${name} start (exit line ${linesSoFar.includes('exit') ? 'written' : 'missing'})`)
          await delay(ms)
          order.push(`${name} end`)
        },
      })
    await shutdown.shutdown()
    await delay(150)
    expect(order).toEqual([
      'report',
      'logs start (exit line written)',
      'traces start (exit line written)',
      'traces end',
      'logs end',
      'exit 0',
    ])
  })

  it('reserve their time out of the grace period, and a slow or failing one does not hold the exit', async () => {
    const logger = memoryLogger()
    const exits: number[] = []
    const shutdown = testShutdown({ logger, gracePeriodMs: 5000, safetyMarginMs: 100, exit: (c) => exits.push(c) })
    const before = shutdown.plan().availableMs
    let aborted: unknown
    shutdown.addExitFlush({
      name: 'hangs',
      timeoutMs: 80,
      run: (signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => {
            aborted = signal.reason
          })
        }),
    })
    shutdown.addExitFlush({ name: 'throws', timeoutMs: 50, run: () => Promise.reject(new Error('disk full')) })
    expect(shutdown.plan()).toMatchObject({ exitFlushMs: 80, availableMs: before - 80 })
    const started = Date.now()
    const report = await shutdown.shutdown()
    await delay(400)
    expect(exits).toEqual([report.exitCode])
    expect(report.exitCode).toBe(0)
    expect(aborted).toBeInstanceOf(Error)
    expect(Date.now() - started).toBeGreaterThanOrEqual(80)
    expect(logger.entries.map((e) => e.fields.event)).toEqual(
      expect.arrayContaining(['exit-flush.timeout', 'exit-flush.error']),
    )
  })

  it('the watchdog exits while a flush still runs, never later', async () => {
    const exits: { code: number; at: number }[] = []
    const shutdown = testShutdown({
      gracePeriodMs: 600,
      safetyMarginMs: 100,
      exit: (code) => exits.push({ code, at: Date.now() }),
    })
    // A flush whose own timer cannot fire: the event loop is blocked past the watchdog.
    shutdown.addExitFlush({
      name: 'blocks',
      timeoutMs: 100,
      run: () => {
        const until = Date.now() + 700
        while (Date.now() < until) {}
      },
    })
    const started = Date.now()
    await shutdown.shutdown()
    await delay(900)
    expect(exits).toHaveLength(1)
    expect(exits[0]!.code).toBe(0)
    expect(exits[0]!.at - started).toBeGreaterThanOrEqual(690)
  })

  it('with exit: false run before shutdown() resolves; refused once a run began or for a name taken', async () => {
    const shutdown = testShutdown()
    let flushed = false
    shutdown.addExitFlush({
      name: 'logs',
      run: async () => {
        await delay(20)
        flushed = true
      },
    })
    expect(() => shutdown.addExitFlush({ name: 'logs', run: () => {} })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }),
    )
    expect(() => shutdown.addExitFlush({ name: 'x', timeoutMs: -1, run: () => {} })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    expect(() => shutdown.addExitFlush({ name: 'x', timeoutMs: 0, run: () => {} })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    expect(() => shutdown.addExitFlush({ name: 'x', run: () => {}, timeout: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION' }),
    )
    const removed = shutdown.addExitFlush({ name: 'gone', run: () => Promise.reject(new Error('ran')) })
    removed.remove()
    const run = shutdown.shutdown()
    expect(() => shutdown.addExitFlush({ name: 'late', run: () => {} })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_PHASE_STARTED' }),
    )
    await run
    expect(flushed).toBe(true)
  })
})
