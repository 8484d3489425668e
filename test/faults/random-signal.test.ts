import { expect, it } from 'vitest'
import { allTasks, delay, taskNames } from '../support/shutdown.js'
import { killChildrenAfterEach, LONG, random, reportOf, spawnFixture } from './support.js'

// SIGTERM at a random moment of a service's life — while it does its startup work, just as it starts
// listening, once it serves — with a task that succeeds, throws, or never settles. Whatever the moment,
// the process must exit on its own before its deadline, with the exit code its report gives.
const GRACE_MS = 3000
const STARTUP_MS = 400
const RUNS = LONG ? 40 : 6
const PARALLEL = 3
const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000)

killChildrenAfterEach()

type Mode = 'ok' | 'fail' | 'hang'
const modes: Mode[] = ['ok', 'fail', 'hang']

it(
  `SIGTERM at a random moment (${RUNS} runs, seed ${seed}): exits before the deadline with its report's exit code`,
  async () => {
    const rand = random(seed)
    const plans = Array.from({ length: RUNS }, (_, i) => ({
      i,
      mode: modes[i % modes.length] as Mode,
      // From the moment the coordinator exists: every other run inside the startup work, the rest anywhere
      // through the startup work, the listen, and beyond.
      delayMs: Math.floor(rand() * (i % 2 === 0 ? STARTUP_MS * 0.8 : STARTUP_MS + 500)),
      task: ['drain-work', 'flush-work', 'release-work', 'close-work'][Math.floor(rand() * 4)] as string,
    }))
    const outcomes: string[] = []
    for (let start = 0; start < plans.length; start += PARALLEL) {
      await Promise.all(
        plans.slice(start, start + PARALLEL).map(async (plan) => {
          const label = `run ${plan.i} (seed ${seed}): SIGTERM at +${plan.delayMs} ms, ${plan.mode} ${plan.task}`
          const child = spawnFixture('phased-service.mjs', {
            GRACE_MS: String(GRACE_MS),
            STARTUP_MS: String(STARTUP_MS),
            LAMEDUCK_SHUTDOWN_TOKEN: 'faults-token-0123456789abcdef',
            FAIL_TASK: plan.mode === 'fail' ? plan.task : undefined,
            HANG_TASK: plan.mode === 'hang' ? plan.task : undefined,
          })
          await child.waitFor('booted')
          await delay(plan.delayMs)
          child.mark()
          child.child.kill('SIGTERM')
          const exit = await child.exited
          const report = reportOf(child.stderr)
          const detail = `${label}\nstdout: ${child.stdout.join(' | ')}\nreport: ${JSON.stringify(report)}`
          const stage = child.stdout.includes('startup abandoned') ? 'during startup' : 'once listening'
          outcomes.push(`${label} (${stage}): exit ${exit.code} in ${Math.round(exit.elapsedMs)} ms`)

          expect(exit.signal, detail).toBeNull()
          expect(report, detail).toBeDefined()
          if (!report) return
          expect(exit.code, detail).toBe(report.exitCode)
          expect(exit.code, detail).toBe(plan.mode === 'ok' ? 0 : 1)
          // Before the deadline (grace − 1 s margin), let alone the grace period.
          expect(exit.elapsedMs, detail).toBeLessThan(GRACE_MS)
          expect(report.end, detail).toBeLessThanOrEqual(report.deadline)
          expect(report.trigger, detail).toBe('signal')
          const tasks = allTasks(report)
          expect(taskNames(report).sort(), detail).toEqual(
            [
              'http-drain',
              'readiness-work',
              'drain-work',
              'flush-work',
              'release-work',
              'close-work',
              'report-work',
            ].sort(),
          )
          for (const task of tasks) {
            const expected =
              task.name !== plan.task || plan.mode === 'ok' ? 'ok' : plan.mode === 'fail' ? 'error' : 'timeout'
            expect(`${task.name}: ${task.outcome}`, detail).toBe(`${task.name}: ${expected}`)
          }
          // Every task ran once, whatever the moment.
          for (const task of tasks)
            expect(child.stdout.filter((line) => line === `task ${task.name} start`).length, detail).toBe(
              task.name === 'http-drain' ? 0 : 1,
            )
        }),
      )
    }
    console.log(outcomes.join('\n'))
  },
  60_000 + RUNS * 3000,
)
