import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonLines, type RunningChild, spawnChild } from '../../../test/support/child.js'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

interface FixtureConfig {
  options?: Record<string, unknown>
  tasks?: { name: string; phase?: string; timeoutMs?: number; critical?: boolean; run: string }[]
  crashAfterMs?: number
}

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

async function startService(config: FixtureConfig, wrap: string[] = []): Promise<RunningChild> {
  const [command = process.execPath, ...args] = [...wrap, process.execPath, fixture('service.mjs')]
  const running = spawnChild(command, args, { env: { FIXTURE: JSON.stringify(config) } })
  children.push(running)
  await running.waitFor('ready')
  return running
}

const everyPhase: FixtureConfig['tasks'] = [
  { name: 'close-pool', phase: 'close', run: 'ok' },
  { name: 'drain-http', phase: 'drain', run: 'sleep:50' },
  { name: 'push-metrics', phase: 'report', run: 'ok' },
  { name: 'flush-cache', phase: 'flush', run: 'sleep:30' },
  { name: 'release-locks', phase: 'release', run: 'ok' },
  { name: 'mark-unready', phase: 'readiness', run: 'ok' },
]

describe('a real process receiving real signals', () => {
  it('SIGTERM runs every phase in order and exits 0 with the report on stderr', async () => {
    const service = await startService({ options: { drainDelayMs: 100 }, tasks: everyPhase })
    service.mark()
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(exit).toMatchObject({ code: 0, signal: null })
    expect(exit.elapsedMs).toBeLessThan(3000)
    expect(service.stdout.filter((line) => line.startsWith('phase '))).toEqual([
      'phase readiness',
      'phase drain',
      'phase flush',
      'phase release',
      'phase close',
      'phase report',
    ])
    const report = jsonLines(service.stderr).find((line) => line.event === 'report')?.report as {
      trigger: string
      reason: string
      exitCode: number
    }
    expect(report).toMatchObject({ trigger: 'signal', reason: 'SIGTERM', exitCode: 0 })
  })

  it('repeated SIGTERMs join the running shutdown: every task runs once', async () => {
    const service = await startService({ tasks: [{ name: 'slow', run: 'sleep:400' }] })
    service.child.kill('SIGTERM')
    await service.waitFor('task slow')
    service.child.kill('SIGTERM')
    // Standard signals do not queue: one sent while another is pending merges with it.
    await new Promise((resolve) => setTimeout(resolve, 50))
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(exit.code).toBe(0)
    expect(service.stdout.filter((line) => line === 'task slow')).toHaveLength(1)
    const triggers = jsonLines(service.stderr).filter((line) => line.event === 'trigger')
    expect(triggers.map((line) => line.first)).toEqual([true, false, false])
  })

  it('a task that never settles and holds no handle cannot make Node exit silently with 0', async () => {
    const service = await startService({
      tasks: [
        { name: 'hangs', phase: 'flush', timeoutMs: 300, run: 'hang' },
        { name: 'after', phase: 'close', run: 'ok' },
      ],
    })
    service.mark()
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(exit.code).toBe(1)
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(280)
    expect(exit.elapsedMs).toBeLessThan(3000)
    expect(service.stdout).toContain('task after')
  })

  it('a hanging task with its own handles does not keep the process past the deadline', async () => {
    const service = await startService({
      options: { gracePeriodMs: 1500, safetyMarginMs: 300 },
      tasks: [
        { name: 'stuck-drain', phase: 'drain', timeoutMs: 60_000, run: 'hang-handle' },
        { name: 'release', phase: 'release', timeoutMs: 200, run: 'ok' },
      ],
    })
    service.mark()
    service.child.kill('SIGTERM')
    const exit = await service.exited
    expect(exit.code).toBe(1)
    // Gone by the deadline (1200 ms after the trigger), long before a kubelet's SIGKILL at 1500 ms; the
    // release still ran. The process's own clock says when it exited, free of this test's latency.
    expect(exit.elapsedMs).toBeLessThan(1500)
    expect(exit.elapsedMs).toBeGreaterThan(900)
    expect(service.stdout).toContain('task release')
    const lines = jsonLines(service.stderr)
    const report = lines.find((line) => line.event === 'report')?.report as { start: number; deadline: number }
    const exited = lines.find((line) => line.event === 'exit') as { time: number }
    expect(report.deadline - report.start).toBe(1200)
    expect(exited.time).toBeLessThanOrEqual(report.deadline)
  })

  it('a second SIGINT forces an immediate exit with code 130', async () => {
    const service = await startService({ tasks: [{ name: 'slow', run: 'sleep:5000' }] })
    service.mark()
    service.child.kill('SIGINT')
    await service.waitFor('task slow')
    service.child.kill('SIGINT')
    const exit = await service.exited
    expect(exit.code).toBe(130)
    expect(exit.elapsedMs).toBeLessThan(2000)
    expect(service.stdout).not.toContain('done slow')
  })

  it('a non-critical failure exits 0; a critical one exits 1', async () => {
    const soft = await startService({ tasks: [{ name: 'optional', critical: false, run: 'fail' }] })
    soft.child.kill('SIGTERM')
    expect((await soft.exited).code).toBe(0)
    const hard = await startService({ tasks: [{ name: 'needed', run: 'fail' }] })
    hard.child.kill('SIGTERM')
    expect((await hard.exited).code).toBe(1)
  })

  it('with fatalErrors, an uncaught exception runs the shutdown and exits 1', async () => {
    const service = await startService({
      options: { fatalErrors: true },
      crashAfterMs: 50,
      tasks: [{ name: 'cleanup', run: 'ok' }],
    })
    const exit = await service.exited
    expect(exit.code).toBe(1)
    expect(service.stdout).toContain('task cleanup')
    expect(jsonLines(service.stderr).find((line) => line.event === 'fatal')).toMatchObject({
      origin: 'uncaughtException',
      error: 'unexpected crash',
    })
  })

  it('works as PID 1 (no signal re-raised to itself)', async (context) => {
    const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'])
    if (probe.status !== 0) {
      context.skip(`PID 1 test skipped: cannot create a PID namespace here (${probe.error?.message ?? probe.status})`)
    }
    const service = await startService({ tasks: [{ name: 'as-init', run: 'ok' }] }, [
      'unshare',
      '--pid',
      '--fork',
      '--mount-proc',
    ])
    expect(service.stdout).toContain('ready')
    // Signal the node process itself, which is PID 1 inside the namespace.
    const pgrep = spawnSync('pgrep', ['-P', String(service.child.pid)], { encoding: 'utf8' })
    const pid = Number(pgrep.stdout.trim().split('\n')[0])
    expect(pid).toBeGreaterThan(0)
    process.kill(pid, 'SIGTERM')
    const exit = await service.exited
    expect(exit.code).toBe(0)
    expect(service.stdout).toContain('task as-init')
  })
})

describe('packaging', () => {
  it('a CommonJS service can require() it on a Node 20 without require(esm)', async () => {
    const consumer = spawnChild(process.execPath, ['--no-experimental-require-module', fixture('cjs-consumer.cjs')])
    children.push(consumer)
    const exit = await consumer.exited
    expect(consumer.stderr.join('\n')).toBe('')
    expect(exit.code).toBe(0)
    expect(consumer.stdout).toEqual(['config error: true LAMEDUCK_ERR_INVALID_DURATION', 'task ran', 'exit code 0'])
  })
})
