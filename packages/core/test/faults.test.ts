import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonLines, type RunningChild, spawnChild } from '../../../test/support/child.js'

// Real processes, real signals: the run must not be cut short by anything happening inside the process.
const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url))

interface TaskConfig {
  name: string
  phase?: string
  timeoutMs?: number
  critical?: boolean
  run: string
}
interface FixtureConfig {
  options?: Record<string, unknown>
  tasks?: TaskConfig[]
  second?: { options?: Record<string, unknown>; tasks?: TaskConfig[] }
}

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

async function startService(config: FixtureConfig): Promise<RunningChild> {
  const running = spawnChild(process.execPath, [fixture], { env: { FIXTURE: JSON.stringify(config) } })
  children.push(running)
  await running.waitFor('ready')
  return running
}

interface Report {
  exitCode: number
  end: number
  deadline: number
  errors: { origin: string; error: string; running: string[] }[]
  phases: { name: string; tasks: { name: string; outcome: string; code?: string; error?: string }[] }[]
}
const reportOf = (service: RunningChild) =>
  jsonLines(service.stderr).find((line) => line.event === 'report')?.report as Report
const taskOf = (report: Report, name: string) =>
  report.phases.flatMap((phase) => phase.tasks).find((task) => task.name === name)

describe('one process, several coordinators', () => {
  it("a second coordinator's quick run does not cut the first one's drain delay and flush short", async () => {
    const service = await startService({
      options: { drainDelayMs: 600 },
      tasks: [{ name: 'flush-cache', phase: 'flush', run: 'sleep:200' }],
      // Another module's coordinator: nothing to do, done in a few ms.
      second: { options: { drainDelayMs: 0 } },
    })
    service.mark()
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(service.stdout).toContain('done flush-cache')
    expect(exit.code).toBe(0)
    // Before: exit 0 about 20 ms after SIGTERM, the flush never ran.
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(600)
    expect(jsonLines(service.stderr).find((line) => line.code === 'LAMEDUCK_WARN_SEVERAL_COORDINATORS')).toBeDefined()
  })

  it('the process exits once, with the worst exit code of the runs', async () => {
    const service = await startService({
      options: { drainDelayMs: 300 },
      tasks: [{ name: 'fine', phase: 'flush', run: 'ok' }],
      second: { tasks: [{ name: 'release-lock', phase: 'release', run: 'fail' }] },
    })
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(service.stdout).toContain('task fine')
    expect(service.stdout).toContain('task release-lock')
    expect(exit.code).toBe(1)
    expect(jsonLines(service.stderr).filter((line) => line.event === 'exit')).toHaveLength(1)
  })
})

describe('errors thrown while the shutdown runs (fatalErrors: false)', () => {
  for (const [kind, origin] of [
    ['throw-later', 'uncaughtException'],
    ['reject-later', 'unhandledRejection'],
  ] as const) {
    it(`an ${origin} from a flush task is recorded, the release and close still run, exit code 1`, async () => {
      const service = await startService({
        tasks: [
          { name: 'flush', phase: 'flush', run: `${kind}:50` },
          { name: 'release', phase: 'release', run: 'ok' },
          { name: 'close', phase: 'close', run: 'ok' },
        ],
      })
      service.child.kill('SIGTERM')
      const exit = await service.exited
      expect(exit.code).toBe(1)
      expect(service.stdout).toEqual(expect.arrayContaining(['done flush', 'task release', 'task close']))
      const report = reportOf(service)
      expect(report.exitCode).toBe(1)
      expect(report.errors).toEqual([
        expect.objectContaining({ origin, error: expect.stringContaining('flush'), running: ['flush'] }),
      ])
      expect(jsonLines(service.stderr).find((line) => line.event === 'run.error')).toMatchObject({ origin })
    })
  }

  it('before the trigger, an uncaught exception still crashes the process as Node does', async () => {
    const running = spawnChild(process.execPath, [fixture], {
      env: { FIXTURE: JSON.stringify({ crashAfterMs: 50, tasks: [{ name: 'x', run: 'ok' }] }) },
    })
    children.push(running)
    const exit = await running.exited
    expect(exit.code).toBe(1)
    expect(running.stdout).not.toContain('task x')
    expect(running.stderr.join('\n')).toContain('unexpected crash')
  })
})

describe('a task that holds the event loop past its budget', () => {
  it('is reported as an overrun (timeout), not ok, and the stall watcher names it while it blocks', async () => {
    const service = await startService({
      options: { gracePeriodMs: 10_000 },
      tasks: [
        { name: 'sync-loop', phase: 'flush', timeoutMs: 200, run: 'block:1800' },
        { name: 'after', phase: 'release', run: 'ok' },
      ],
    })
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(exit.code).toBe(1)
    const report = reportOf(service)
    expect(taskOf(report, 'sync-loop')).toMatchObject({ outcome: 'timeout', code: 'LAMEDUCK_ERR_TASK_OVERRUN' })
    expect(taskOf(report, 'sync-loop')?.error).toMatch(/synchronous code held the event loop for \d+ ms/)
    expect(taskOf(report, 'after')?.outcome).toBe('ok')
    const lines = jsonLines(service.stderr)
    const blocked = lines.findIndex((line) => line.event === 'event-loop.blocked')
    const ended = lines.findIndex((line) => line.event === 'task.end' && line.task === 'sync-loop')
    expect(lines[blocked]).toMatchObject({ running: ['sync-loop'], from: 'stall-watch' })
    // Written from the worker thread while the main thread was still blocked.
    expect(blocked).toBeGreaterThanOrEqual(0)
    expect(blocked).toBeLessThan(ended)
    expect(lines.find((line) => line.event === 'task.overrun')).toMatchObject({ task: 'sync-loop' })
  })

  it('past the deadline: a last diagnostic is written while blocked, and the report says the deadline was missed', async () => {
    const service = await startService({
      options: { gracePeriodMs: 1500, safetyMarginMs: 500 },
      tasks: [{ name: 'stuck', phase: 'drain', timeoutMs: 200, run: 'block:2500' }],
    })
    service.child.kill('SIGTERM')
    const exit = await service.exited
    const lines = jsonLines(service.stderr)
    const last = lines.findIndex((line) => line.event === 'deadline.blocked')
    expect(lines[last]).toMatchObject({ level: 'error', running: ['stuck'] })
    expect(last).toBeLessThan(lines.findIndex((line) => line.event === 'task.end'))
    expect(exit.code).not.toBe(0)
    const report = reportOf(service)
    if (report) {
      expect(report.end).toBeGreaterThan(report.deadline)
      expect(lines.find((line) => line.event === 'deadline.missed')).toBeDefined()
    }
  })
})

describe('onAbandon: work handed over when a task cannot finish', () => {
  it('a task whose phase gets no time is skipped and told so', async () => {
    // The drain delay is never shortened: it takes the whole budget, the flush phase gets none.
    const service = await startService({
      options: { gracePeriodMs: 2000, safetyMarginMs: 500, drainDelayMs: 1500 },
      tasks: [{ name: 'flush-cache', phase: 'flush', run: 'ok' }],
    })
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(exit.code).toBe(1)
    expect(service.stdout).toContain('abandon flush-cache skipped LAMEDUCK_ERR_TASK_SKIPPED')
    expect(service.stdout).not.toContain('task flush-cache')
  })

  it('a forced exit tells the running task (exit) and the tasks of later phases (skipped) before the process goes', async () => {
    const service = await startService({
      tasks: [
        { name: 'slow-drain', phase: 'drain', run: 'sleep:5000' },
        { name: 'flush-cache', phase: 'flush', run: 'ok' },
      ],
    })
    service.child.kill('SIGINT')
    await service.waitFor('task slow-drain')
    service.child.kill('SIGINT')
    const exit = await service.exited
    expect(exit.code).toBe(130)
    expect(service.stdout).toContain('abandon slow-drain exit LAMEDUCK_ERR_TASK_ABANDONED')
    expect(service.stdout).toContain('abandon flush-cache skipped LAMEDUCK_ERR_TASK_SKIPPED')
  })

  it('a task that times out is told so, once', async () => {
    const service = await startService({
      tasks: [{ name: 'hung', phase: 'flush', timeoutMs: 100, run: 'hang' }],
    })
    service.child.kill('SIGTERM')
    await service.exited
    expect(service.stdout.filter((line) => line.startsWith('abandon'))).toEqual([
      'abandon hung timeout LAMEDUCK_ERR_TASK_TIMEOUT',
    ])
  })
})
