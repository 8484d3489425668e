// `pnpm demo` as a newcomer runs it: the example service under the simulator, with the real stores and
// with the in-process fallback. What the README promises: a live progress line, the shutdown timeline,
// the result table, `0 of N requests failed`, under 30 s.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { spawnChild } from '../support/child.js'
import { describeWith } from '../support/services.js'

const demo = fileURLToPath(new URL('../../examples/express-service/demo.mjs', import.meta.url))

async function runDemo(env: Record<string, string>): Promise<{ code: number | null; out: string; ms: number }> {
  const run = spawnChild(process.execPath, [demo], { env })
  const exit = await run.exited
  return { code: exit.code, out: [...run.stdout, ...run.stderr].join('\n'), ms: exit.elapsedMs }
}

function expectTheDemo(out: string, ms: number, code: number | null, phases: string[]): void {
  if (code !== 0) console.error(out)
  expect(code).toBe(0)
  expect(ms).toBeLessThan(30_000)
  // Progress, once a second when stdout is not a terminal.
  expect(out.match(/^ {2}\S+ +\d+\.\d s +\d+ requests +\d+ failed +\d+ req\/s$/gm)?.length).toBeGreaterThanOrEqual(3)
  // The timeline: every phase that had tasks a bar, and replica A's report.
  expect(out).toMatch(/Shutdown timeline of replica A \(the \/shutdown response, \d+ ms, exit code 0\)/)
  for (const phase of phases) expect(out).toMatch(new RegExp(`^ {2}${phase} +\\|[ █]+\\| \\d+ ms`, 'm'))
  expect(out).toMatch(/verdict +PASS: no request failed, no SIGKILL/)
  const verdict = out.match(/^(\d+) of (\d+) requests failed$/m)
  expect(verdict?.[1]).toBe('0')
  expect(Number(verdict?.[2])).toBeGreaterThan(1000)
}

await describeWith(['Redis', 'PostgreSQL'], 'pnpm demo with Redis and PostgreSQL', () => {
  it('uses them, and shows the progress, the timeline, the result and 0 of N requests failed', async () => {
    const { code, out, ms } = await runDemo({})
    expectTheDemo(out, ms, code, ['readiness', 'drain', 'flush', 'release', 'close', 'report'])
    expect(out).toContain('replica A stores: Redis and PostgreSQL')
    expect(out).toMatch(/^ {4}redis-locks +\|[ █]+\| \d+ ms ok$/m)
    expect(out).toMatch(/^ {4}page-views +\|[ █]+\| \d+ ms ok$/m)
  }, 40_000)
})

describe('pnpm demo without the stores', () => {
  it('falls back to an in-process store, says so, and still drops nothing', async () => {
    // Nothing listens on port 1: Redis is unreachable, as on a laptop without it.
    const { code, out, ms } = await runDemo({ REDIS_URL: 'redis://127.0.0.1:1' })
    // No locks, no pools: the release and close phases have no tasks, so no bars.
    expectTheDemo(out, ms, code, ['readiness', 'drain', 'flush', 'report'])
    expect(out).toContain('replica A stores: Redis or PostgreSQL not reachable, using an in-process store')
  }, 40_000)
})
