import {
  DuplicateTaskError,
  InvalidDurationError,
  InvalidOptionError,
  type ShutdownWarning,
  StartupClosedError,
  UnknownOptionError,
} from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { terminationSummary } from '../src/termination-log.js'
import { closedAfterEach, delay, memoryLogger } from './helpers.js'

const coordinator = closedAfterEach()

describe('shutdown.startup', () => {
  it('without tasks the service is ready at once, and done() resolves', async () => {
    const shutdown = coordinator()
    expect(shutdown.startup.state).toBe('done')
    expect(shutdown.isReady()).toBe(true)
    expect(await shutdown.startup.done()).toEqual({ state: 'done', tasks: [] })
  })

  it('isReady() is false until every start-up task has finished', async () => {
    const shutdown = coordinator()
    let finishA!: () => void
    shutdown.startup.task('a', () => new Promise<void>((resolve) => (finishA = resolve)))
    shutdown.startup.task('b', () => delay(30))
    expect(shutdown.isReady()).toBe(false)
    expect(shutdown.startup.state).toBe('pending')
    const done = shutdown.startup.done()
    await delay(60)
    expect(shutdown.isReady()).toBe(false)
    finishA()
    const report = await done
    expect(report.state).toBe('done')
    expect(report.tasks.map((t) => [t.name, t.outcome])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ])
    expect(shutdown.isReady()).toBe(true)
    expect(() => shutdown.startup.task('late', () => {})).toThrow(StartupClosedError)
  })

  it('a timed-out task aborts its signal and keeps readiness down, with a warning', async () => {
    const warnings: ShutdownWarning[] = []
    const shutdown = coordinator()
    shutdown.on('warning', (w) => warnings.push(w))
    let reason: unknown
    shutdown.startup.task(
      'migrate',
      (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            reason = signal.reason
            reject(signal.reason)
          }),
        ),
      { timeoutMs: 50 },
    )
    const report = await shutdown.startup.done()
    expect(report.state).toBe('failed')
    expect(report.tasks[0]).toMatchObject({ name: 'migrate', outcome: 'timeout', code: 'LAMEDUCK_ERR_STARTUP_TIMEOUT' })
    expect((reason as { code?: string }).code).toBe('LAMEDUCK_ERR_STARTUP_TIMEOUT')
    expect(shutdown.isReady()).toBe(false)
    expect(warnings.map((w) => w.code)).toEqual(['LAMEDUCK_WARN_STARTUP_FAILED'])
  })

  it('a failing task keeps readiness down', async () => {
    const logger = memoryLogger()
    const shutdown = coordinator({ logger })
    shutdown.startup.task('warm', async () => {
      throw new Error('cache unreachable')
    })
    const report = await shutdown.startup.done()
    expect(report.state).toBe('failed')
    expect(report.tasks[0]).toMatchObject({ outcome: 'error', error: 'cache unreachable' })
    expect(shutdown.isReady()).toBe(false)
    expect(logger.entries.some((e) => e.fields.code === 'LAMEDUCK_WARN_STARTUP_FAILED')).toBe(true)
  })

  it('a shutdown during start-up aborts the tasks and records them; that alone is an orderly exit (0)', async () => {
    const shutdown = coordinator()
    let aborted = false
    shutdown.startup.task('connect', (signal) => {
      signal.addEventListener('abort', () => {
        aborted = true
      })
      return new Promise(() => {})
    })
    shutdown.startup.task('quick', () => {})
    await delay(10)
    const report = await shutdown.shutdown('test')
    expect(aborted).toBe(true)
    expect(report.startup?.state).toBe('aborted')
    expect(report.startup?.tasks.map((t) => [t.name, t.outcome])).toEqual([
      ['connect', 'aborted'],
      ['quick', 'ok'],
    ])
    expect(report.startup?.tasks[0]?.code).toBe('LAMEDUCK_ERR_STARTUP_ABORTED')
    // A rollout stopping a pod that is still starting: nothing went wrong.
    expect(report.exitCode).toBe(0)
    expect(shutdown.isReady()).toBe(false)
    expect(() => shutdown.startup.task('after', () => {})).toThrow(StartupClosedError)
    // What `kubectl describe pod` shows of it.
    expect(terminationSummary({ report, exitCode: report.exitCode })).toContain('start-up aborted: connect aborted')
  })

  it('a failure, then a shutdown: the start-up is reported failed, the rest aborted', async () => {
    const shutdown = coordinator()
    shutdown.startup.task('bad', () => Promise.reject(new Error('nope')))
    shutdown.startup.task('slow', () => new Promise(() => {}))
    await delay(10)
    const report = await shutdown.shutdown('test')
    expect(report.startup?.state).toBe('failed')
    expect(report.startup?.tasks.map((t) => t.outcome)).toEqual(['error', 'aborted'])
    expect(report.exitCode).toBe(1)
  })

  it('a start-up task that timed out before the shutdown makes the exit code 1', async () => {
    const shutdown = coordinator()
    shutdown.startup.task('slow', () => new Promise(() => {}), { timeoutMs: 20 })
    expect((await shutdown.startup.done()).state).toBe('failed')
    const report = await shutdown.shutdown('test')
    expect(report.startup?.state).toBe('failed')
    expect(report.startup?.tasks.map((t) => t.outcome)).toEqual(['timeout'])
    expect(report.exitCode).toBe(1)
  })

  it('a task that rejects when its signal aborts at the shutdown is still aborted, not failed (exit 0)', async () => {
    const shutdown = coordinator()
    shutdown.startup.task(
      'connect',
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('gave up')))),
    )
    const report = await shutdown.shutdown('test')
    expect(report.startup?.state).toBe('aborted')
    expect(report.startup?.tasks[0]?.outcome).toBe('aborted')
    expect(report.exitCode).toBe(0)
  })

  it('a start-up that finished before the shutdown is reported done, exit code 0', async () => {
    const shutdown = coordinator()
    shutdown.startup.task('quick', () => delay(5))
    await shutdown.startup.done()
    const report = await shutdown.shutdown('test')
    expect(report.startup?.state).toBe('done')
    expect(report.exitCode).toBe(0)
  })

  it('remove() aborts a running task and stops waiting for it', async () => {
    const shutdown = coordinator()
    let aborted = false
    const reg = shutdown.startup.task('forever', (signal) => {
      signal.addEventListener('abort', () => {
        aborted = true
      })
      return new Promise(() => {})
    })
    expect(shutdown.isReady()).toBe(false)
    const done = shutdown.startup.done()
    reg.remove()
    expect((await done).state).toBe('done')
    expect(aborted).toBe(true)
    expect(shutdown.isReady()).toBe(true)
  })

  it('remove() of a task that failed changes nothing: start-up stays failed, readiness down', async () => {
    const shutdown = coordinator()
    const reg = shutdown.startup.task('migrations', () => Promise.reject(new Error('schema is behind')))
    expect((await shutdown.startup.done()).state).toBe('failed')
    reg.remove()
    expect(shutdown.startup.state).toBe('failed')
    expect(shutdown.startup.report().tasks.map((t) => t.name)).toEqual(['migrations'])
    expect(shutdown.isReady()).toBe(false)
  })

  it('refuses bad configuration with stable codes', () => {
    const { startup } = coordinator()
    expect(() => startup.task('  ', () => {})).toThrow(InvalidOptionError)
    expect(() => startup.task('a', null as never)).toThrow(InvalidOptionError)
    expect(() => startup.task('a', () => {}, { timeoutMs: Number.POSITIVE_INFINITY })).toThrow(InvalidDurationError)
    expect(() => startup.task('a', () => {}, { timeout: 5 } as never)).toThrow(UnknownOptionError)
    expect(() => startup.task('a', () => {}, { timeoutMs: 0 })).toThrow(InvalidDurationError)
    expect(startup.report().tasks).toEqual([])
    startup.task('a', () => {})
    expect(() => startup.task('a', () => {})).toThrow(DuplicateTaskError)
  })
})
