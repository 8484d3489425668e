import { EXIT_CODES, PHASES, type Phase, type ShutdownState, TaskTimeoutError } from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { delay, memoryLogger, testShutdown } from './helpers.js'

describe('order', () => {
  it('runs phases in order, strictly one after the other', async () => {
    const shutdown = testShutdown()
    const events: string[] = []
    // Registered in reverse phase order, with the slowest tasks in the earliest phases.
    for (const [i, phase] of [...PHASES].reverse().entries()) {
      shutdown.addTask({
        name: `t-${phase}`,
        phase,
        run: async () => {
          events.push(`start ${phase}`)
          await delay(5 * i)
          events.push(`end ${phase}`)
        },
      })
    }
    await shutdown.shutdown()
    expect(events).toEqual(PHASES.flatMap((phase) => [`start ${phase}`, `end ${phase}`]))
  })

  it('runs the tasks of one phase concurrently', async () => {
    const shutdown = testShutdown()
    for (const name of ['a', 'b', 'c', 'd']) shutdown.addTask({ name, phase: 'flush', run: () => delay(150) })
    const report = await shutdown.shutdown()
    const flush = report.phases.find((p) => p.name === 'flush')
    expect(flush?.tasks).toHaveLength(4)
    // Four 150 ms tasks in sequence would take 600 ms.
    expect(flush?.durationMs).toBeLessThan(450)
  })

  it('close order: within a phase, the last registered task starts first', async () => {
    const shutdown = testShutdown()
    const started: string[] = []
    for (const name of ['first', 'second', 'third']) shutdown.addTask({ name, run: () => started.push(name) })
    const report = await shutdown.shutdown()
    expect(started).toEqual(['third', 'second', 'first'])
    expect(report.phases.find((p) => p.name === 'close')?.tasks.map((t) => t.name)).toEqual([
      'third',
      'second',
      'first',
    ])
  })
})

describe('idempotency', () => {
  it('joins every trigger into one run with one report; each task runs once', async () => {
    const shutdown = testShutdown({ signals: ['SIGUSR2'] })
    let runs = 0
    shutdown.addTask({
      name: 'once',
      run: async () => {
        runs++
        await delay(20)
      },
    })
    const a = shutdown.shutdown('first')
    const b = shutdown.shutdown('second', { trigger: 'http' })
    process.emit('SIGUSR2', 'SIGUSR2')
    const c = shutdown.close()
    const reports = await Promise.all([a, b, c])
    expect(a).toBe(b)
    expect(reports[0]).toBe(reports[1])
    expect(reports[0]).toBe(reports[2])
    expect(runs).toBe(1)
    expect(reports[0].trigger).toBe('manual')
    expect(reports[0].reason).toBe('first')
    expect(reports[0].triggers.map((t) => t.trigger)).toEqual(['manual', 'http', 'signal', 'dispose'])
    // Still the same report afterwards.
    expect(await shutdown.shutdown('later')).toBe(reports[0])
    expect(runs).toBe(1)
    shutdown.uninstall()
  })

  it('fixes the deadline at the first trigger', async () => {
    const shutdown = testShutdown({ gracePeriodMs: 10_000, safetyMarginMs: 500 })
    shutdown.addTask({ name: 'slow', run: () => delay(60) })
    const before = Date.now()
    const run = shutdown.shutdown()
    const deadline = shutdown.deadline
    expect(deadline).toBeGreaterThanOrEqual(before + 9_500)
    expect(deadline).toBeLessThanOrEqual(Date.now() + 9_500)
    await delay(30)
    void shutdown.shutdown('again')
    expect(shutdown.deadline).toBe(deadline)
    expect((await run).deadline).toBe(deadline)
  })
})

describe('errors never stop the run', () => {
  it('records sync throws, rejections with anything, and still runs every later task', async () => {
    const shutdown = testShutdown()
    const values: [string, () => unknown, string][] = [
      [
        'throws',
        () => {
          throw new Error('boom')
        },
        'boom',
      ],
      ['rejects-error', () => Promise.reject(new TypeError('bad type')), 'bad type'],
      ['rejects-string', () => Promise.reject('just a string'), 'just a string'],
      ['rejects-object', () => Promise.reject({ status: 503 }), '{"status":503}'],
      ['rejects-undefined', () => Promise.reject(undefined), 'undefined'],
      [
        'throws-null',
        () => {
          throw null
        },
        'null',
      ],
    ]
    for (const [name, run] of values) shutdown.addTask({ name, phase: 'flush', run })
    let closed = false
    shutdown.addTask({
      name: 'after',
      phase: 'close',
      run: () => {
        closed = true
      },
    })
    const report = await shutdown.shutdown()
    const flush = report.phases.find((p) => p.name === 'flush')!
    for (const [name, , message] of values) {
      expect(flush.tasks.find((t) => t.name === name)).toMatchObject({ outcome: 'error', error: message })
    }
    expect(flush.outcome).toBe('error')
    expect(closed).toBe(true)
    expect(report.exitCode).toBe(EXIT_CODES.failed)
  })

  it('a critical failure makes the exit code non-zero; a non-critical one does not', async () => {
    const soft = testShutdown()
    soft.addTask({ name: 'optional', critical: false, run: () => Promise.reject(new Error('meh')) })
    soft.addTask({ name: 'fine', run: () => {} })
    const softReport = await soft.shutdown()
    expect(softReport.exitCode).toBe(0)
    expect(softReport.phases.find((p) => p.name === 'close')?.tasks[1]).toMatchObject({
      name: 'optional',
      outcome: 'error',
      critical: false,
    })

    const hard = testShutdown()
    hard.addTask({ name: 'needed', timeoutMs: 20, run: () => new Promise(() => {}) })
    expect((await hard.shutdown()).exitCode).toBe(1)
  })

  it("exitCode: undefined before a run, the code so far during it (what a report-phase task sees), the report's after", async () => {
    const shutdown = testShutdown()
    const seen: Record<string, number | undefined> = {}
    const read = (key: string) => () => {
      seen[key] = shutdown.exitCode
    }
    shutdown.addTask({ name: 'early', phase: 'drain', run: read('drain') })
    shutdown.addTask({ name: 'optional', phase: 'flush', critical: false, run: () => Promise.reject(new Error('meh')) })
    shutdown.addTask({ name: 'after-optional', phase: 'close', run: read('close') })
    shutdown.addTask({ name: 'needed', phase: 'close', timeoutMs: 20, run: () => new Promise(() => {}) })
    shutdown.addTask({ name: 'push', phase: 'report', run: read('report') })
    expect(shutdown.exitCode).toBeUndefined()
    const report = await shutdown.shutdown()
    // A non-critical failure leaves it 0; the critical timeout of the close phase makes it 1 before the report.
    expect(seen).toEqual({ drain: EXIT_CODES.ok, close: EXIT_CODES.ok, report: EXIT_CODES.failed })
    expect(report.exitCode).toBe(EXIT_CODES.failed)
    expect(shutdown.exitCode).toBe(report.exitCode)
  })

  it('exitCode: 1 from the first moment of a fatal run, and of a run after a failed start-up', async () => {
    const fatal = testShutdown()
    let during: number | undefined
    fatal.addTask({
      name: 'first',
      phase: 'readiness',
      run: () => {
        during = fatal.exitCode
      },
    })
    await fatal.shutdown('boom', { trigger: 'fatal' })
    expect(during).toBe(EXIT_CODES.failed)

    during = undefined
    const failedStart = testShutdown()
    failedStart.startup.task('connect', () => Promise.reject(new Error('refused')))
    expect((await failedStart.startup.done()).state).toBe('failed')
    expect(failedStart.exitCode).toBeUndefined()
    failedStart.addTask({
      name: 'first',
      phase: 'readiness',
      run: () => {
        during = failedStart.exitCode
      },
    })
    expect((await failedStart.shutdown()).exitCode).toBe(EXIT_CODES.failed)
    expect(during).toBe(EXIT_CODES.failed)
  })

  it('a task that calls shutdown() itself gets the running shutdown and the run goes on', async () => {
    const shutdown = testShutdown()
    let inner: Promise<unknown> | undefined
    shutdown.addTask({
      name: 'reenter',
      phase: 'drain',
      run: () => {
        inner = shutdown.shutdown('from a task')
      },
    })
    shutdown.addTask({ name: 'awaits-itself', phase: 'flush', timeoutMs: 50, run: () => shutdown.shutdown() })
    shutdown.addTask({ name: 'after', phase: 'close', run: () => {} })
    const report = await shutdown.shutdown('outer')
    expect(await inner).toBe(report)
    const outcome = (name: string) => report.phases.flatMap((p) => p.tasks).find((t) => t.name === name)?.outcome
    expect(outcome('reenter')).toBe('ok')
    // Awaiting its own run can only end in its timeout; the report says so and the run continues.
    expect(outcome('awaits-itself')).toBe('timeout')
    expect(outcome('after')).toBe('ok')
    expect(report.reason).toBe('outer')
  })

  it('a throwing listener is logged and ignored', async () => {
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger })
    shutdown.on('phaseStart', () => {
      throw new Error('observer bug')
    })
    shutdown.addTask({ name: 'x', run: () => {} })
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(logger.entries.some((e) => e.fields.event === 'listener.error' && e.fields.error === 'observer bug')).toBe(
      true,
    )
  })
})

describe('timeouts', () => {
  it("aborts the task's signal with a TaskTimeoutError and abandons it", async () => {
    const shutdown = testShutdown()
    let reason: unknown
    shutdown.addTask({
      name: 'stuck',
      timeoutMs: 40,
      run: (signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => {
            reason = signal.reason
          })
        }),
    })
    const started = Date.now()
    const report = await shutdown.shutdown()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(reason).toBeInstanceOf(TaskTimeoutError)
    expect(reason).toMatchObject({ code: 'LAMEDUCK_ERR_TASK_TIMEOUT', cutByPhase: false })
    expect(report.phases.find((p) => p.name === 'close')?.tasks[0]).toMatchObject({
      outcome: 'timeout',
      code: 'LAMEDUCK_ERR_TASK_TIMEOUT',
      budgetMs: 40,
    })
  })

  it('gives each task its deadline in the context', async () => {
    const shutdown = testShutdown()
    let seen: { deadline: number; remaining: number; name: string; phase: Phase } | undefined
    shutdown.addTask({
      name: 'ctx',
      phase: 'release',
      timeoutMs: 2000,
      run: (_signal, context) => {
        seen = {
          deadline: context.deadline,
          remaining: context.remainingMs(),
          name: context.name,
          phase: context.phase,
        }
      },
    })
    const before = Date.now()
    await shutdown.shutdown()
    expect(seen).toMatchObject({ name: 'ctx', phase: 'release' })
    expect(seen!.deadline - before).toBeGreaterThanOrEqual(1990)
    expect(seen!.deadline - before).toBeLessThan(2100)
    expect(seen!.remaining).toBeGreaterThan(1900)
  })
})

describe('state and readiness', () => {
  it('turns not-ready at the first trigger, waits drainDelayMs, and walks the states in order', async () => {
    const shutdown = testShutdown({ drainDelayMs: 200 })
    const states: ShutdownState[] = []
    shutdown.on('state', ({ to }) => states.push(to))
    let readyDuringDrain: boolean | undefined
    let drainStartedAt = 0
    shutdown.addTask({
      name: 'drain',
      phase: 'drain',
      run: () => {
        drainStartedAt = Date.now()
        readyDuringDrain = shutdown.isReady()
      },
    })
    expect(shutdown.isReady()).toBe(true)
    expect(shutdown.state).toBe('running')
    const started = Date.now()
    const run = shutdown.shutdown()
    expect(shutdown.isReady()).toBe(false)
    const report = await run
    expect(drainStartedAt - started).toBeGreaterThanOrEqual(195)
    expect(readyDuringDrain).toBe(false)
    expect(states).toEqual(['draining', 'stopping', 'stopped'])
    expect(shutdown.state).toBe('stopped')
    expect(shutdown.report).toBe(report)
    expect(report.phases.map((p) => p.name)).toEqual([...PHASES])
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  })

  it('emits typed events for triggers, phases, tasks and the report', async () => {
    const shutdown = testShutdown()
    const seen: string[] = []
    shutdown.on('trigger', (t) => seen.push(`trigger ${t.trigger} ${t.first}`))
    shutdown.on('phaseStart', (p) => p.tasks.length && seen.push(`phase ${p.phase}`))
    shutdown.on('taskStart', (t) => seen.push(`start ${t.name}`))
    shutdown.on('taskEnd', (t) => seen.push(`end ${t.name} ${t.outcome}`))
    const off = shutdown.on('report', (r) => seen.push(`report ${r.exitCode}`))
    shutdown.addTask({ name: 'x', phase: 'flush', run: () => {} })
    await shutdown.shutdown()
    off()
    expect(seen).toEqual(['trigger manual true', 'phase flush', 'start x', 'end x ok', 'report 0'])
  })
})
