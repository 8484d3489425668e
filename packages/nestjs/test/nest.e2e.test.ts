import { fileURLToPath } from 'node:url'
import { type SimulationOptions, simulateTermination } from '@lameduck/testkit'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonLines, type RunningChild, spawnChild } from '../../../test/support/child.js'
import { PLATFORMS } from './support.js'

// The fixture, a real Nest application in a process of its own (built packages, as users load them), on
// each platform: rolling terminations through the simulator, and its hooks' order under a real SIGTERM.
// In vitest.config.ts's endToEnd list: it runs services under load.
const fixture = fileURLToPath(new URL('./fixtures/nest-app.mjs', import.meta.url))
const TOKEN = 'nestjs-e2e-token-0123456789abcdef'
const drainDelayMs = 800

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

describe.each(PLATFORMS)('a Nest application on %s through the simulator: zero dropped requests', (platform) => {
  const base: Partial<SimulationOptions> = {
    env: { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, DRAIN_DELAY_MS: String(drainDelayMs), PLATFORM: platform },
    warmup: '600ms',
    propagation: '500ms',
    tail: '300ms',
    grace: '20s',
  }
  const scenarios: [string, Partial<SimulationOptions>][] = [
    ['SIGTERM only, concurrency 64', { concurrency: 64 }],
    [
      'preStop /shutdown with long requests in flight',
      { preStop: '/shutdown', preStopHeaders: { authorization: `Bearer ${TOKEN}` }, concurrency: 64, long: '1200ms' },
    ],
  ]
  for (const [title, options] of scenarios) {
    it(title, async () => {
      const r = await simulateTermination({ command: [process.execPath, fixture], ...base, ...options })
      const log = `replica A's log:\n${r.lastOutput.join('\n')}`
      expect(r.failures, log).toEqual({})
      expect(r.failed).toBe(0)
      expect(r.sigkill).toBe(false)
      expect(r.exitCode, log).toBe(0)
      if (r.preStop) expect(r.preStop.status).toBe(200)
      expect(r.long.ok).toBe(r.long.total)
      expect(r.lameduck, log).toMatchObject({ exitCode: 0 })
      const expectedExit = Math.max(drainDelayMs, r.long.total > 0 ? r.long.durationMs : 0)
      // Generous bounds: a drain stuck on keep-alive sockets, or a close waiting for the /shutdown
      // connection, would wait out its budget.
      expect(r.terminationToExitMs, `slow exit; ${log}`).toBeLessThan(expectedExit + 3000)
      // The providers' hooks ran, each with its dependency, after every request was answered.
      const hooks = jsonLines(r.lastOutput).filter((line) => 'hook' in line)
      expect(hooks.map((line) => line.hook)).toEqual([
        'UsersService.beforeApplicationShutdown',
        'UsersService.onModuleDestroy',
        'DbService.onModuleDestroy',
        'UsersService.onApplicationShutdown',
      ])
      expect(hooks.slice(0, 3).every((line) => line.dbOpen === true)).toBe(true)
    })
  }
})

describe.each(PLATFORMS)('a Nest application on %s under a real SIGTERM', (platform) => {
  it("runs the hooks inside lameduck's phases, dependents first, each with its dependency, and exits 0", async () => {
    const child = spawnChild(process.execPath, [fixture], {
      env: { PORT: '0', PLATFORM: platform, DRAIN_DELAY_MS: '200', LAMEDUCK_SHUTDOWN_TOKEN: TOKEN },
    })
    children.push(child)
    const port = (JSON.parse(await child.waitFor(/"listening"/, 20_000)) as { listening: number }).listening
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hello')
    const slow = fetch(`http://127.0.0.1:${port}/slow?ms=600`).then((response) => response.text())
    await new Promise((resolve) => setTimeout(resolve, 100))
    child.mark()
    child.child.kill('SIGTERM')
    // The request in flight used the database after the trigger, and got it.
    expect(await slow).toBe('slow slow')
    const exited = await child.exited
    expect(exited.code, child.stderr.join('\n')).toBe(0)
    expect(exited.elapsedMs).toBeLessThan(5_000)
    const steps = jsonLines(child.stderr).flatMap((line) => {
      if (line.event === 'phase.start') return [`phase:${line.phase}`]
      if ('hook' in line) return [`${line.hook}(${line.signal ?? ''}) db ${line.dbOpen ? 'open' : 'closed'}`]
      if ('task' in line && line.event === undefined) return [`task:${line.task} db ${line.dbOpen ? 'open' : 'closed'}`]
      return []
    })
    expect(steps).toEqual([
      'phase:readiness',
      'phase:drain',
      'UsersService.beforeApplicationShutdown(SIGTERM) db open',
      'phase:flush',
      // A task a provider added through the injected coordinator.
      'task:users-flush db open',
      'phase:close',
      'UsersService.onModuleDestroy() db open',
      'DbService.onModuleDestroy() db open',
      'UsersService.onApplicationShutdown(SIGTERM) db closed',
    ])
    const report = jsonLines(child.stderr).find((line) => line.event === 'report')?.report as
      | { exitCode: number; phases: { tasks: { name: string; outcome: string }[] }[] }
      | undefined
    expect(report?.exitCode).toBe(0)
    expect(report?.phases.flatMap((phase) => phase.tasks.map((task) => `${task.name} ${task.outcome}`))).toEqual([
      'nest-before-shutdown ok',
      'http-drain ok',
      'users-flush ok',
      'nest-close ok',
    ])
  })
})
