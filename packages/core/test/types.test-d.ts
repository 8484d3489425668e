import {
  type CORE_ERROR_CODES,
  type CoreErrorCode,
  type CoreWarningCode,
  createShutdown,
  type HealthChangeEvent,
  type HealthCheckReport,
  type HealthReport,
  type HealthState,
  type LameduckErrorCode,
  type Phase,
  type Probe,
  type Registration,
  type Shutdown,
  type ShutdownReport,
  type ShutdownState,
  type StartupReport,
  type StartupState,
  type StartupTaskContext,
  type TaskContext,
  type TaskOutcome,
} from '@lameduck/core'
import { describe, expectTypeOf, it } from 'vitest'

describe('public types', () => {
  const shutdown = createShutdown({ exit: false, signals: [] })

  it('createShutdown returns the coordinator', () => {
    expectTypeOf(shutdown).toEqualTypeOf<Shutdown>()
    expectTypeOf(shutdown.state).toEqualTypeOf<ShutdownState>()
    expectTypeOf<ShutdownState>().toEqualTypeOf<'running' | 'draining' | 'stopping' | 'stopped'>()
    expectTypeOf(shutdown.isReady).returns.toBeBoolean()
    expectTypeOf(shutdown.shutdown).returns.resolves.toEqualTypeOf<ShutdownReport>()
    expectTypeOf(shutdown[Symbol.asyncDispose]).returns.resolves.toBeVoid()
  })

  it('addTask takes a typed spec and returns its Registration', () => {
    expectTypeOf(shutdown.addTask).parameter(0).toHaveProperty('run')
    expectTypeOf(shutdown.addTask({ name: 'x', run: () => {} })).toEqualTypeOf<Registration>()
    expectTypeOf<Phase>().toEqualTypeOf<'readiness' | 'drain' | 'flush' | 'release' | 'close' | 'report'>()
    shutdown.addTask({
      name: 'typed',
      phase: 'flush',
      run: (signal, context) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
        expectTypeOf(context).toEqualTypeOf<TaskContext>()
      },
    })
    // @ts-expect-error unknown phase
    shutdown.addTask({ name: 'bad', phase: 'cleanup', run: () => {} })
    // @ts-expect-error run is required
    shutdown.addTask({ name: 'bad' })
  })

  it('events are typed by name', () => {
    shutdown.on('taskEnd', (task) => {
      expectTypeOf(task.outcome).toEqualTypeOf<TaskOutcome>()
      expectTypeOf(task.error).toEqualTypeOf<string | undefined>()
    })
    shutdown.on('state', ({ from, to }) => {
      expectTypeOf(from).toEqualTypeOf<ShutdownState>()
      expectTypeOf(to).toEqualTypeOf<ShutdownState>()
    })
    expectTypeOf(shutdown.on('report', () => {})).toEqualTypeOf<() => void>()
    // @ts-expect-error no such event
    shutdown.on('nope', () => {})
  })

  it('error and warning codes: a closed catalogue per package, inside one shape for all', () => {
    expectTypeOf<'LAMEDUCK_ERR_DUPLICATE_TASK'>().toExtend<CoreErrorCode>()
    expectTypeOf<(typeof CORE_ERROR_CODES)[number]>().toEqualTypeOf<CoreErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_NO_SUCH_THING'>().not.toExtend<CoreErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_SEVERAL_COORDINATORS'>().toExtend<CoreWarningCode>()
    expectTypeOf<'LAMEDUCK_WARN_NO_SUCH_THING'>().not.toExtend<CoreWarningCode>()
    expectTypeOf<CoreErrorCode>().toExtend<LameduckErrorCode>()
    expectTypeOf<'not a code'>().not.toExtend<LameduckErrorCode>()
    expectTypeOf<'LAMEDUCK_ERR_lower'>().not.toExtend<LameduckErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_X'>().not.toExtend<LameduckErrorCode>()
    // @ts-expect-error a warning's code is a warning code
    shutdown.warn({ code: 'oops', message: 'x' })
  })

  it('health checks and start-up', () => {
    expectTypeOf(shutdown.health.check('a', () => true)).toEqualTypeOf<Registration>()
    shutdown.health.check(
      'b',
      async (signal) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
        return { status: 'degraded' as const, details: { lagMs: 5 } }
      },
      { timeoutMs: 100, cacheMs: 0, affects: ['readiness', 'liveness'], critical: false },
    )
    // @ts-expect-error a check resolves a boolean or a status
    shutdown.health.check('c', () => 'ok')
    // @ts-expect-error only readiness and liveness
    shutdown.health.check('d', () => true, { affects: ['startup'] })
    // @ts-expect-error unknown option
    shutdown.health.check('e', () => true, { timeout: 5 })
    expectTypeOf<Probe>().toEqualTypeOf<'readiness' | 'liveness'>()
    expectTypeOf<HealthState>().toEqualTypeOf<'ok' | 'degraded' | 'failing'>()
    expectTypeOf(shutdown.health.status('readiness')).resolves.toEqualTypeOf<HealthReport>()
    expectTypeOf<HealthReport['checks'][string]>().toEqualTypeOf<HealthCheckReport>()
    shutdown.startup.task(
      's',
      (signal, context) => {
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
        expectTypeOf(context).toEqualTypeOf<StartupTaskContext>()
      },
      { timeoutMs: 1000 },
    )
    expectTypeOf(shutdown.startup.done()).resolves.toEqualTypeOf<StartupReport>()
    expectTypeOf(shutdown.startup.state).toEqualTypeOf<StartupState>()
    expectTypeOf<StartupState>().toEqualTypeOf<'pending' | 'done' | 'failed' | 'aborted'>()
    expectTypeOf<ShutdownReport['startup']>().toEqualTypeOf<StartupReport | undefined>()
    expectTypeOf<'LAMEDUCK_ERR_STARTUP_ABORTED'>().toExtend<CoreErrorCode>()
    expectTypeOf<'LAMEDUCK_WARN_STARTUP_FAILED'>().toExtend<CoreWarningCode>()
  })

  it('health and startup events', () => {
    shutdown.on('health', (event) => {
      expectTypeOf(event).toEqualTypeOf<HealthChangeEvent>()
      expectTypeOf(event.to).toEqualTypeOf<HealthState>()
      expectTypeOf(event.probes).toEqualTypeOf<Probe[]>()
    })
    shutdown.on('startup', (report) => expectTypeOf(report).toEqualTypeOf<StartupReport>())
  })
})
