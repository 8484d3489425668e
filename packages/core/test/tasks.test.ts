import { DuplicateTaskError, InvalidDurationError, PhaseStartedError, UnknownPhaseError } from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { delay, testShutdown } from './helpers.js'

const noop = () => {}

describe('addTask', () => {
  it('rejects invalid specs at registration, naming the task', () => {
    const shutdown = testShutdown()
    expect(() => shutdown.addTask({ name: 'a', phase: 'cleanup' as never, run: noop })).toThrow(UnknownPhaseError)
    expect(() => shutdown.addTask({ name: 'a', timeoutMs: -5, run: noop })).toThrow(InvalidDurationError)
    expect(() => shutdown.addTask({ name: 'a', timeoutMs: Number.NaN, run: noop })).toThrow(/task "a".timeoutMs/)
    expect(() => shutdown.addTask({ name: '', run: noop })).toThrow(/task.name/)
    expect(() => shutdown.addTask({ name: 'a', run: 'nope' as never })).toThrow(/task "a".run/)
    expect(() => shutdown.addTask({ name: 'a', critical: 'no' as never, run: noop })).toThrow(/critical/)
    expect(() => shutdown.addTask({ name: 'a', last: 1 as never, run: noop })).toThrow(/task "a".last/)
    expect(() => shutdown.addTask(null as never)).toThrow(/task/)
  })

  it('rejects a duplicate name with a stable code, and accepts it again after unregistering', () => {
    const shutdown = testShutdown()
    const off = shutdown.addTask({ name: 'flush', phase: 'flush', run: noop })
    expect(() => shutdown.addTask({ name: 'flush', phase: 'close', run: noop })).toThrow(DuplicateTaskError)
    try {
      shutdown.addTask({ name: 'flush', run: noop })
    } catch (error) {
      expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' })
    }
    expect(off.name).toBe('flush')
    off.remove()
    off.remove()
    expect(() => shutdown.addTask({ name: 'flush', run: noop })).not.toThrow()
  })

  it('does not run an unregistered task', async () => {
    const shutdown = testShutdown()
    const ran: string[] = []
    const off = shutdown.addTask({ name: 'gone', run: () => ran.push('gone') })
    shutdown.addTask({ name: 'kept', run: () => ran.push('kept') })
    off[Symbol.dispose]()
    const report = await shutdown.shutdown()
    expect(ran).toEqual(['kept'])
    expect(report.phases.flatMap((p) => p.tasks.map((t) => t.name))).toEqual(['kept'])
  })

  it('applies the documented defaults: phase close, critical, 5000 ms', async () => {
    const shutdown = testShutdown()
    shutdown.addTask({ name: 'plain', run: noop })
    const report = await shutdown.shutdown()
    const close = report.phases.find((p) => p.name === 'close')
    expect(close?.tasks[0]).toMatchObject({ name: 'plain', phase: 'close', critical: true, budgetMs: 5000 })
  })

  it('during a run, accepts tasks for phases still ahead and refuses those already started', async () => {
    const shutdown = testShutdown()
    const ran: string[] = []
    shutdown.addTask({
      name: 'drainer',
      phase: 'drain',
      run: () => {
        shutdown.addTask({ name: 'late-release', phase: 'release', run: () => ran.push('late-release') })
        expect(() => shutdown.addTask({ name: 'late-drain', phase: 'drain', run: noop })).toThrow(PhaseStartedError)
        ran.push('drainer')
      },
    })
    await shutdown.shutdown()
    expect(ran).toEqual(['drainer', 'late-release'])
    expect(() => shutdown.addTask({ name: 'after', phase: 'report', run: noop })).toThrow(PhaseStartedError)
  })
})

describe('context.detail', () => {
  it('puts what a task recorded into its report entry, merged; a timed-out task keeps what it had recorded; nothing after', async () => {
    const shutdown = testShutdown()
    let late: (() => void) | undefined
    shutdown.addTask({
      name: 'told',
      run: (_signal, context) => {
        context.detail({ attempts: 1, status: 503 })
        context.detail({ attempts: 2, status: 200 })
      },
    })
    shutdown.addTask({
      name: 'slow',
      timeoutMs: 50,
      run: (_signal, context) => {
        context.detail({ flushed: 10 })
        late = () => context.detail({ flushed: 20 })
        return new Promise(() => {})
      },
    })
    shutdown.addTask({ name: 'quiet', run: noop })
    const report = await shutdown.shutdown()
    late?.()
    const tasks = report.phases.flatMap((phase) => phase.tasks)
    expect(tasks.find((t) => t.name === 'told')?.details).toEqual({ attempts: 2, status: 200 })
    expect(tasks.find((t) => t.name === 'slow')).toMatchObject({ outcome: 'timeout', details: { flushed: 10 } })
    expect(tasks.find((t) => t.name === 'quiet')).not.toHaveProperty('details')
  })
})

describe('last: the last word of a phase', () => {
  it('starts once every other task of the phase has settled, side by side with the other last tasks', async () => {
    const shutdown = testShutdown()
    const events: string[] = []
    const slow = (name: string, ms: number) => async () => {
      events.push(`${name} start`)
      await delay(ms)
      events.push(`${name} end`)
    }
    shutdown.addTask({ name: 'flush-telemetry', phase: 'report', last: true, run: slow('flush-telemetry', 30) })
    shutdown.addTask({ name: 'push-metrics', phase: 'report', run: slow('push-metrics', 60) })
    shutdown.addTask({ name: 'flush-logs', phase: 'report', last: true, run: slow('flush-logs', 10) })
    shutdown.addTask({ name: 'stats', phase: 'report', run: slow('stats', 5) })
    const report = await shutdown.shutdown()
    const lastStart = Math.min(events.indexOf('flush-telemetry start'), events.indexOf('flush-logs start'))
    expect(lastStart).toBeGreaterThan(events.indexOf('push-metrics end'))
    expect(lastStart).toBeGreaterThan(events.indexOf('stats end'))
    // Side by side: both last tasks started before either ended.
    expect(events.indexOf('flush-logs start')).toBeLessThan(events.indexOf('flush-telemetry end'))
    expect(events.indexOf('flush-telemetry start')).toBeLessThan(events.indexOf('flush-logs end'))
    const phase = report.phases.find((p) => p.name === 'report')
    expect(phase?.tasks.map((t) => [t.name, t.outcome])).toEqual([
      ['stats', 'ok'],
      ['push-metrics', 'ok'],
      ['flush-logs', 'ok'],
      ['flush-telemetry', 'ok'],
    ])
  })

  it('starts after a task given up at its timeout, and reserves its own time on top', async () => {
    const shutdown = testShutdown()
    let lastStarted = 0
    let hangStarted = 0
    shutdown.addTask({
      name: 'hang',
      phase: 'report',
      timeoutMs: 100,
      run: () => {
        hangStarted = Date.now()
        return new Promise(() => {})
      },
    })
    shutdown.addTask({
      name: 'final',
      phase: 'report',
      last: true,
      timeoutMs: 300,
      run: () => {
        lastStarted = Date.now()
      },
    })
    expect(shutdown.plan().phases.find((p) => p.phase === 'report')?.reservedMs).toBe(400)
    const report = await shutdown.shutdown()
    const tasks = report.phases.find((p) => p.name === 'report')?.tasks
    expect(tasks?.map((t) => [t.name, t.outcome])).toEqual([
      ['hang', 'timeout'],
      ['final', 'ok'],
    ])
    expect(lastStarted - hangStarted).toBeGreaterThanOrEqual(95)
  })
})
