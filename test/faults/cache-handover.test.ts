import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { RunningChild } from '../support/child.js'
import { taskReport } from '../support/shutdown.js'
import { killChildrenAfterEach, reportOf, spawnFixture } from './support.js'

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

const everyEntry = Array.from({ length: 100 }, (_, i) => ({ key: `s${i}`, value: `{"user":${i}}` }))

/**
 * Runs the fixture's `scenario` (a cache of 100 dirty entries): once it is ready, `end` signals it as the
 * scenario wants; then its exit, what it handed to onUnflushed, and what to print when an assertion fails.
 */
async function handover(scenario: string, owner: string, end: (child: RunningChild) => Promise<void>) {
  const out = join(tmpdir(), `lameduck-cache-handover-${randomUUID()}.jsonl`)
  files.push(out)
  const child = spawnFixture('cache-handover.mjs', { SCENARIO: scenario, OUT: out, ENTRIES: '100' }, owner)
  await child.waitFor('ready')
  await end(child)
  const exit = await child.exited
  const report = reportOf(child.stderr)
  const detail = `stdout: ${child.stdout.join(' | ')}\nstderr: ${child.stderr.join('\n')}\nreport: ${JSON.stringify(report)}`
  return { child, exit, report, detail, calls: handedOver(out) }
}

/** onUnflushed was called once, with every entry the cache accepted, each with `code` when given. */
function expectEveryEntryHandedOver(calls: Handed[][], detail: string, code?: string): void {
  expect(calls, detail).toHaveLength(1)
  expect(
    calls[0]?.map(({ key, value }) => ({ key, value })),
    detail,
  ).toEqual(everyEntry)
  if (code !== undefined) expect(new Set(calls[0]?.map((e) => e.code)), detail).toEqual(new Set([code]))
}

describe.concurrent('a shutdown flush that cannot finish hands every accepted entry to onUnflushed', () => {
  it('skipped (an earlier phase held the loop past the deadline): all of them, then writes are refused', async ({
    task,
  }) => {
    const { child, exit, report, detail, calls } = await handover('skip', task.id, async (child) => {
      child.child.kill('SIGTERM')
    })
    expect(report && taskReport(report, 'sessions').outcome, detail).toBe('skipped')
    expectEveryEntryHandedOver(calls, detail, 'LAMEDUCK_ERR_TASK_SKIPPED')
    expect(child.stdout, detail).toContain('set after flush: LAMEDUCK_ERR_CACHE_CLOSED')
    expect(child.stdout, detail).toContain('delete after flush: LAMEDUCK_ERR_CACHE_CLOSED')
    expect(exit.code, detail).not.toBe(0)
  })

  it("another coordinator's watchdog exits the process mid-flush (sink never answers): all of them, before the exit", async ({
    task,
  }) => {
    const { exit, detail, calls } = await handover('watchdog', task.id, async (child) => {
      child.mark()
      child.child.kill('SIGTERM')
      await child.waitFor('sink called')
    })
    expect(exit.code, detail).toBe(124)
    // Well before the cache's own 15 s budget: the exit did not wait for it, and did not lose it either.
    expect(exit.elapsedMs, detail).toBeLessThan(8000)
    expectEveryEntryHandedOver(calls, detail, 'LAMEDUCK_ERR_TASK_ABANDONED')
  })

  it('a second SIGINT forces the exit mid-flush: all of them, before the exit', async ({ task }) => {
    const { exit, detail, calls } = await handover('sigint', task.id, async (child) => {
      child.child.kill('SIGINT')
      await child.waitFor('sink called')
      child.child.kill('SIGINT')
    })
    expect(exit.code, detail).toBe(130)
    expectEveryEntryHandedOver(calls, detail)
  })
})
