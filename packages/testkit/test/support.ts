// What the simulator's tests share: the fixture services, a marker to find their processes by, and the
// checks that none of them outlives a run.
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import { delay } from '../../../test/support/shutdown.js'

/** The path of `fixtures/<name>.mjs`. */
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.mjs`, import.meta.url))

/** A marker to give a service as an extra argument, so that `pgrep -f` finds whatever is left of it. */
export const newMarker = () => `lameduck-test-${randomUUID()}`

/** The command lines of the processes still alive that carry `marker`. */
export function leftovers(marker: string): string {
  return spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.trim()
}

/** No process carrying `marker` is left a moment after the run settled (a group SIGKILLed just now may still be reaped). */
export async function expectNoneLeft(marker: string): Promise<void> {
  await delay(100)
  expect(leftovers(marker)).toBe('')
}

/** Whether a process exists and is not a zombie (orphans re-parented to a PID 1 that never reaps stay zombies). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
  if (!existsSync('/proc/self/stat')) return true
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** pids of the reapers that guard the simulator with pid `simulatorPid` (this process by default), zombies left out. */
export function reapersOf(simulatorPid = process.pid): number[] {
  const out = spawnSync('pgrep', ['-f', `reaper\\.js ${simulatorPid}$`], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(Boolean).map(Number).filter(alive)
}
