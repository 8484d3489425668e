import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { killChildrenAfterEach, reportOf, spawnFixture, tasksOf } from './support.js'

// Every entry a write-behind cache accepted and did not write reaches onUnflushed, whatever ended the
// flush — a real process, a real signal, and the fallback file read back afterwards.

killChildrenAfterEach()

const files: string[] = []
afterEach(() => {
  for (const file of files.splice(0)) rmSync(file, { force: true })
})

interface Handed {
  key: string
  value: string
  error: string
  code?: string
}

function handedOver(file: string): Handed[][] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

function start(scenario: string, owner: string) {
  const out = join(tmpdir(), `lameduck-cache-handover-${randomUUID()}.jsonl`)
  files.push(out)
  const child = spawnFixture('cache-handover.mjs', { SCENARIO: scenario, OUT: out, ENTRIES: '100' }, owner)
  return { child, out }
}

const everyEntry = Array.from({ length: 100 }, (_, i) => ({ key: `s${i}`, value: `{"user":${i}}` }))

describe.concurrent('a shutdown flush that cannot finish hands every accepted entry to onUnflushed', () => {
  it('skipped (an earlier phase held the loop past the deadline): all of them, then writes are refused', async ({
    task,
  }) => {
    const { child, out } = start('skip', task.id)
    await child.waitFor('ready')
    child.child.kill('SIGTERM')
    const exit = await child.exited
    const report = reportOf(child.stderr)
    const detail = `stdout: ${child.stdout.join(' | ')}\nreport: ${JSON.stringify(report)}`

    expect(report && tasksOf(report).find((t) => t.name === 'sessions')?.outcome, detail).toBe('skipped')
    const calls = handedOver(out)
    expect(calls, detail).toHaveLength(1)
    expect(
      calls[0]?.map(({ key, value }) => ({ key, value })),
      detail,
    ).toEqual(everyEntry)
    expect(new Set(calls[0]?.map((e) => e.code)), detail).toEqual(new Set(['LAMEDUCK_ERR_TASK_SKIPPED']))
    expect(child.stdout, detail).toContain('set after flush: LAMEDUCK_ERR_CACHE_CLOSED')
    expect(child.stdout, detail).toContain('delete after flush: LAMEDUCK_ERR_CACHE_CLOSED')
    expect(exit.code, detail).not.toBe(0)
  })

  it("another coordinator's watchdog exits the process mid-flush (sink never answers): all of them, before the exit", async ({
    task,
  }) => {
    const { child, out } = start('watchdog', task.id)
    await child.waitFor('ready')
    child.mark()
    child.child.kill('SIGTERM')
    await child.waitFor('sink called')
    const exit = await child.exited
    const detail = `stdout: ${child.stdout.join(' | ')}\nstderr: ${child.stderr.join('\n')}`

    expect(exit.code, detail).toBe(124)
    // Well before the cache's own 15 s budget: the exit did not wait for it, and did not lose it either.
    expect(exit.elapsedMs, detail).toBeLessThan(8000)
    const calls = handedOver(out)
    expect(calls, detail).toHaveLength(1)
    expect(
      calls[0]?.map(({ key, value }) => ({ key, value })),
      detail,
    ).toEqual(everyEntry)
    expect(new Set(calls[0]?.map((e) => e.code)), detail).toEqual(new Set(['LAMEDUCK_ERR_TASK_ABANDONED']))
  })

  it('a second SIGINT forces the exit mid-flush: all of them, before the exit', async ({ task }) => {
    const { child, out } = start('sigint', task.id)
    await child.waitFor('ready')
    child.child.kill('SIGINT')
    await child.waitFor('sink called')
    child.child.kill('SIGINT')
    const exit = await child.exited
    const detail = `stdout: ${child.stdout.join(' | ')}\nstderr: ${child.stderr.join('\n')}`

    expect(exit.code, detail).toBe(130)
    const calls = handedOver(out)
    expect(calls, detail).toHaveLength(1)
    expect(
      calls[0]?.map(({ key, value }) => ({ key, value })),
      detail,
    ).toEqual(everyEntry)
  })
})
