import { describe, expect, it } from 'vitest'
import { allTasks } from '../support/shutdown.js'
import { killChildrenAfterEach, reportOf, spawnFixture } from './support.js'

// A second stop signal aimed at each phase in turn. The fixture prints `phase <name>` as a phase starts
// and each of its tasks takes 200 ms, so the signal lands while that phase runs.
const PHASES = ['readiness', 'drain', 'flush', 'release', 'close', 'report'] as const
const GRACE_MS = 3000
const TOKEN = 'faults-token-0123456789abcdef'
const WORK = ['readiness-work', 'drain-work', 'flush-work', 'release-work', 'close-work', 'report-work']

killChildrenAfterEach()

async function startService(owner: string) {
  const env = { GRACE_MS: String(GRACE_MS), LAMEDUCK_SHUTDOWN_TOKEN: TOKEN }
  const child = spawnFixture('phased-service.mjs', env, owner)
  await child.waitFor('ready')
  return child
}

describe.concurrent('a repeated SIGTERM joins the run', () => {
  for (const phase of PHASES) {
    it(`second SIGTERM during ${phase}: every task runs once, exit 0 before the deadline`, async ({ task }) => {
      const child = await startService(task.id)
      child.mark()
      child.child.kill('SIGTERM')
      await child.waitFor(`phase ${phase}`, 5000)
      child.child.kill('SIGTERM')
      const exit = await child.exited
      const report = reportOf(child.stderr)
      const detail = `stdout: ${child.stdout.join(' | ')}\nreport: ${JSON.stringify(report)}`

      expect(exit.code, detail).toBe(0)
      expect(exit.elapsedMs, detail).toBeLessThan(GRACE_MS - 500)
      expect(report?.exitCode, detail).toBe(0)
      // Both signals are recorded against the one run; the second did not start another.
      expect(
        report?.triggers.map((t) => `${t.trigger} ${t.reason}`),
        detail,
      ).toEqual(['signal SIGTERM', 'signal SIGTERM'])
      expect(
        child.stdout.filter((line) => line.startsWith('trigger ')),
        detail,
      ).toEqual(['trigger signal SIGTERM true', 'trigger signal SIGTERM false'])
      // The second signal arrived while `phase` ran: after its start line, before the next phase's.
      const joined = child.stdout.indexOf('trigger signal SIGTERM false')
      expect(joined, detail).toBeGreaterThan(child.stdout.indexOf(`phase ${phase}`))
      const next = PHASES[PHASES.indexOf(phase) + 1]
      if (next) expect(joined, detail).toBeLessThan(child.stdout.indexOf(`phase ${next}`))
      for (const name of WORK) {
        expect(
          child.stdout.filter((line) => line === `task ${name} start`),
          `${name}\n${detail}`,
        ).toHaveLength(1)
        expect(
          child.stdout.filter((line) => line === `task ${name} done`),
          `${name}\n${detail}`,
        ).toHaveLength(1)
      }
      expect(
        child.stdout.filter((line) => line.startsWith('phase ')),
        detail,
      ).toEqual(PHASES.map((p) => `phase ${p}`))
      if (report)
        expect(
          allTasks(report).every((t) => t.outcome === 'ok'),
          detail,
        ).toBe(true)
    })
  }
})

describe.concurrent('a second SIGINT forces the exit', () => {
  for (const phase of PHASES) {
    it(`SIGINT, then SIGINT during ${phase}: exit 130 at once, no later phase started`, async ({ task }) => {
      const child = await startService(task.id)
      child.child.kill('SIGINT')
      await child.waitFor(`phase ${phase}`, 5000)
      child.mark()
      child.child.kill('SIGINT')
      const exit = await child.exited
      const detail = `stdout: ${child.stdout.join(' | ')}\nstderr: ${child.stderr.join('\n')}`

      expect(exit.code, detail).toBe(130)
      expect(exit.signal, detail).toBeNull()
      expect(exit.elapsedMs, detail).toBeLessThan(1000)
      // No report: the run was cut short, and said so.
      expect(reportOf(child.stderr), detail).toBeUndefined()
      const events = child.stderr.filter((line) => line.includes('"event":"exit.forced"'))
      expect(events, detail).toHaveLength(1)
      // Nothing after the phase the second SIGINT hit.
      const ran = child.stdout.filter((line) => line.startsWith('phase '))
      expect(ran, detail).toEqual(PHASES.slice(0, PHASES.indexOf(phase) + 1).map((p) => `phase ${p}`))
    })
  }
})
