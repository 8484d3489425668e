// A real service (fixtures/service.mjs) whose coordinator logs through pino logs 10,000 lines and gets a real
// SIGTERM. Its exit function counts, synchronously, the lines in the log file at the moment the coordinator
// hands over to the exit. With flushPino every line is there — the 10,000, the report and the `exit` line —
// so pino's exit hook has nothing left to write inside process.exit. The control without it finds fewer (how
// many depends on the race, so it is printed, and asserted only to be short of the final count when the race
// left anything). A stalled transport ends in a timeout within the budget and an honest exit code; its control
// blocks the exit in pino's exit hook for 10 s.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'

const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url))
const LINES = 10_000
/** The coordinator's own lines around the 10,000: trigger, phase starts and ends, report, exit. */
const AT_LEAST = LINES + 2

// pino 9 (thread-stream 3, whose flush(cb) does not wait for the main thread's buffer): the dev dependency
// `pino-9` (an npm alias of pino@9) beside pino 10.
const PINO_9 = createRequire(import.meta.url).resolve('pino-9')

const dir = mkdtempSync(join(tmpdir(), 'lameduck-pino-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

interface FileAtExit {
  lines: number
  report: boolean
  exit: boolean
}
interface AtExit {
  code: number
  files: FileAtExit[]
  sinceSignalMs: number
  flush?: { outcome: string; streams: string[]; terminated: boolean; durationMs: number }
}

let runs = 0
async function run(kind: string, flush: 'pino' | 'none', env: Record<string, string> = {}) {
  const dest = join(dir, `run-${++runs}.log`)
  const countFile = join(dir, `run-${runs}.json`)
  const child = spawnChild(process.execPath, [fixture], {
    env: { KIND: kind, FLUSH: flush, DEST: dest, COUNT_FILE: countFile, LINES: String(LINES), ...env },
  })
  children.push(child)
  await child.waitFor('logged', 15_000)
  child.mark()
  child.child.kill('SIGTERM')
  const exited = await child.exited
  const output = child.stderr.join('\n')
  const atExit = JSON.parse(readFileSync(countFile, 'utf8')) as AtExit
  const files = kind === 'targets' ? [dest, `${dest}.2`] : [dest]
  const final = files.map((file) => {
    try {
      return readFileSync(file, 'utf8').split('\n').length - 1
    } catch {
      return 0
    }
  })
  return { exited, atExit, final, output }
}

describe('flushPino: every line is in the file when the coordinator hands over to the exit', () => {
  for (const [label, env] of [
    ['pino 10 (thread-stream 4)', {}],
    ['pino 9 (thread-stream 3)', { PINO: PINO_9 }],
  ] as const) {
    it(`pino.transport({ target: 'pino/file' }), ${label}`, async () => {
      const { exited, atExit, final, output } = await run('transport', 'pino', env)
      expect(exited.code, output).toBe(0)
      expect(final[0]).toBeGreaterThanOrEqual(AT_LEAST)
      expect(atExit.files[0], output).toEqual({ lines: final[0], report: true, exit: true })
      expect(atExit.flush).toMatchObject({ outcome: 'closed', streams: ['thread-stream'], terminated: false })
    })

    it(`pino.transport({ targets: [pino/file, pino/file] }), ${label}`, async () => {
      const { exited, atExit, final, output } = await run('targets', 'pino', env)
      expect(exited.code, output).toBe(0)
      for (const [i, file] of atExit.files.entries()) {
        expect(final[i]).toBeGreaterThanOrEqual(AT_LEAST)
        expect(file, output).toEqual({ lines: final[i], report: true, exit: true })
      }
    })

    it(`pino.destination({ sync: false }) (sonic-boom), ${label}`, async () => {
      const { exited, atExit, final, output } = await run('destination', 'pino', env)
      expect(exited.code, output).toBe(0)
      expect(final[0]).toBeGreaterThanOrEqual(AT_LEAST)
      expect(atExit.files[0], output).toEqual({ lines: final[0], report: true, exit: true })
      expect(atExit.flush).toMatchObject({ outcome: 'flushed', streams: ['sonic-boom'] })
    })
  }

  it('the control, without flushPino: the exit line (at least) is not in the file yet; pino writes it in process.exit', async () => {
    const { exited, atExit, final, output } = await run('transport', 'none')
    expect(exited.code, output).toBe(0)
    // Informative: how much the exit found, against what pino's exit hook wrote after it.
    console.log(`control: ${atExit.files[0]?.lines} of ${final[0]} lines in the file at the exit`)
    expect(final[0]).toBeGreaterThanOrEqual(AT_LEAST)
    // The `exit` line is logged a moment before the exit function: the worker cannot have written it.
    expect(atExit.files[0]?.exit).toBe(false)
    expect(atExit.files[0]?.lines).toBeLessThan(final[0] as number)
  })
})

describe('flushPino: a stalled transport', () => {
  it('times out within its budget, terminates the worker, logs why on stderr, and exits with the honest code', async () => {
    const { exited, atExit, output } = await run('stall', 'pino', { TIMEOUT_MS: '500' })
    expect(exited.code, output).toBe(0)
    expect(atExit.flush).toMatchObject({ outcome: 'timeout', terminated: true })
    expect(atExit.flush?.durationMs).toBeLessThan(500)
    // From the SIGTERM to the exit function, and to the process's end: the budget, not pino's 10 s spin.
    expect(atExit.sinceSignalMs).toBeLessThan(2_000)
    expect(exited.elapsedMs).toBeLessThan(4_000)
    const line = output.split('\n').find((l) => l.includes('"event":"exit-flush.error"'))
    expect(line, output).toBeDefined()
    expect(line).toContain("the transport's worker was terminated")
  })

  it('the control, without flushPino: pino exit hook blocks process.exit for 10 s', async () => {
    const { atExit, exited, output } = await run('stall', 'none')
    expect(atExit.sinceSignalMs).toBeLessThan(2_000)
    expect(exited.elapsedMs, output).toBeGreaterThan(9_000)
  }, 30_000)
})
