import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createShutdown, DEFAULTS, InvalidOptionError, UnknownOptionError } from '@lameduck/core'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { watchdogOnlyClock } from '../../../test/support/clock.js'
import { memoryLogger } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'lameduck-termlog-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = () => join(dir, `termination-log-${++n}`)
const base = { exit: false, signals: [], logger: false } as const

const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

async function service(config: Record<string, unknown>): Promise<RunningChild> {
  const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url))
  const running = spawnChild(process.execPath, [fixture], { env: { FIXTURE: JSON.stringify(config) } })
  children.push(running)
  await running.waitFor('ready')
  return running
}

describe('terminationLog: a summary Kubernetes keeps', () => {
  it('a real process on SIGTERM writes exit code, trigger, drain delay and each failed task with its code', async () => {
    const path = file()
    const running = await service({
      silent: true,
      options: { terminationLog: path, drainDelayMs: 50, gracePeriodMs: 5000 },
      tasks: [
        { name: 'close-pool', phase: 'close', run: 'fail' },
        { name: 'flush-cache', phase: 'flush', timeoutMs: 100, run: 'hang' },
        { name: 'push-metrics', phase: 'report', critical: false, run: 'ok' },
      ],
    })
    running.child.kill('SIGTERM')
    const exit = await running.exited
    expect(exit.code).toBe(1)
    const text = readFileSync(path, 'utf8')
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^lameduck: exit 1, trigger signal \(SIGTERM\), \d+\.\d s of 4\.0 s$/)
    expect(lines[1]).toMatch(/^drain delay: 0\.\d s, fixed$/)
    expect(lines).toContain('tasks: 1 ok, 1 failed, 1 timed out, 0 skipped')
    expect(text).toMatch(/^failed close-pool \[close\]: close-pool failed$/m)
    expect(text).toMatch(/^timed out flush-cache \[flush\] LAMEDUCK_ERR_TASK_TIMEOUT: /m)
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(DEFAULTS.terminationLogMaxBytes)
  })

  it('the watchdog writes what was still running, with exit 124', async () => {
    const clock = watchdogOnlyClock()
    const path = file()
    const exits: number[] = []
    const shutdown = createShutdown({
      ...base,
      clock,
      drainDelayMs: 0,
      gracePeriodMs: 400,
      safetyMarginMs: 100,
      terminationLog: path,
      exit: (code) => exits.push(code),
    })
    shutdown.addTask({ name: 'stuck', phase: 'flush', run: () => new Promise(() => {}) })
    void shutdown.shutdown()
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(exits).toEqual([124])
    expect(readFileSync(path, 'utf8')).toBe(
      'lameduck: exit 124, the watchdog ended the run at its deadline, before the shutdown finished\n' +
        'still running: stuck\n',
    )
  })

  it('a second SIGINT writes that the exit was forced, with exit 130', async () => {
    const path = file()
    const running = await service({
      silent: true,
      options: { terminationLog: path, drainDelayMs: 0, gracePeriodMs: 20_000 },
      tasks: [{ name: 'stuck', phase: 'close', timeoutMs: 15_000, run: 'hang' }],
    })
    running.child.kill('SIGINT')
    await running.waitFor('task stuck')
    running.child.kill('SIGINT')
    const exit = await running.exited
    expect(exit.code).toBe(130)
    expect(readFileSync(path, 'utf8')).toBe(
      'lameduck: exit 130, forced by a second SIGINT before the shutdown finished\nstill running: stuck\n',
    )
  })

  it('a run that does not own the exit (exit: false) writes at its report; dispose never writes', async () => {
    const path = file()
    const shutdown = createShutdown({ ...base, terminationLog: path })
    shutdown.addTask({ name: 'ok-task', run: () => {} })
    await shutdown.shutdown('test')
    expect(readFileSync(path, 'utf8')).toMatch(/^lameduck: exit 0, trigger manual \(test\)/)
    const other = file()
    await createShutdown({ ...base, terminationLog: other }).close()
    expect(() => readFileSync(other)).toThrow()
  })

  it('cuts the summary to 4 KiB on a character boundary, saying so', async () => {
    const path = file()
    const shutdown = createShutdown({ ...base, terminationLog: path })
    for (let i = 0; i < 80; i++)
      shutdown.addTask({
        name: `task-${i}-ünïcödé`,
        run: () => {
          throw new Error('€'.repeat(300))
        },
      })
    await shutdown.shutdown()
    const bytes = readFileSync(path)
    expect(bytes.length).toBeLessThanOrEqual(4096)
    expect(bytes.length).toBeGreaterThan(4000)
    const text = bytes.toString('utf8')
    expect(text).not.toContain('\uFFFD')
    expect(text.endsWith('…(truncated)\n')).toBe(true)
  })

  it('an unwritable file at exit is logged, not thrown', async () => {
    const path = join(dir, 'will-be-a-dir')
    const logger = memoryLogger()
    const shutdown = createShutdown({ exit: false, signals: [], logger, terminationLog: path })
    rmSync(path, { force: true })
    // Made a directory after the configuration check: the write fails.
    mkdirSync(path)
    await shutdown.shutdown()
    expect(logger.entries.find((e) => e.fields.event === 'termination-log.error')?.fields).toMatchObject({ path })
  })
})

describe('terminationLog: configuration', () => {
  it.each([
    [123, /terminationLog: expected a file path, or false/],
    ['', /terminationLog: expected a file path, or false/],
    [true, /terminationLog: expected a file path, or false/],
    [null, /terminationLog: expected a file path, or false/],
    ['/no/such/folder/log', /the folder of \/no\/such\/folder\/log \(\/no\/such\/folder\) does not exist/],
  ])('rejects %j', (value, message) => {
    expect(() => createShutdown({ ...base, terminationLog: value as never })).toThrow(InvalidOptionError)
    expect(() => createShutdown({ ...base, terminationLog: value as never })).toThrow(message)
  })

  it('rejects a directory, and the typo terminationLogPath', () => {
    expect(() => createShutdown({ ...base, terminationLog: dir })).toThrow(/is a directory, not a file/)
    expect(() => createShutdown({ ...base, terminationLogPath: 'x' } as never)).toThrow(UnknownOptionError)
  })

  it('accepts an existing file and false', () => {
    const path = file()
    writeFileSync(path, '')
    expect(() => createShutdown({ ...base, terminationLog: path })).not.toThrow()
    expect(() => createShutdown({ ...base, terminationLog: false })).not.toThrow()
  })
})
