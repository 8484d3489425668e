import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { type Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, expect } from 'vitest'
import { type RunningChild, spawnChild } from '../support/child.js'
import { delay, loggedReport } from '../support/shutdown.js'

/** Longer repetitions only under `pnpm test:faults` (FAULTS_LONG=1); the default run stays short. */
export const LONG = process.env.FAULTS_LONG === '1'

/**
 * A marker given as an extra argument to every process a test file starts, so that `pgrep -f` can tell
 * whether any of them is still alive. Unique per file (each test file runs in its own worker).
 */
export const MARKER = `lameduck-faults-${randomUUID().slice(0, 12)}`

export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

let spawned = 0
const children = new Map<string, Set<RunningChild & { marker: string }>>()

/**
 * Starts `node fixtures/<name> <MARKER>-<n>`. The child belongs to `owner` — the test's `task.id` in
 * concurrent tests, so that one test's afterEach does not kill another's children — and is killed
 * (SIGKILL) in that test's afterEach if it is still running.
 */
export function spawnFixture(
  name: string,
  env: Record<string, string | undefined> = {},
  owner = 'default',
): RunningChild & { marker: string } {
  const marker = `${MARKER}-${++spawned}`
  const child = Object.assign(spawnChild(process.execPath, [fixture(name), marker], { env }), { marker })
  const set = children.get(owner) ?? new Set()
  children.set(owner, set)
  set.add(child)
  return child
}

/**
 * Command lines of the processes still alive whose last argument is `marker` (a whole marker, or with a
 * prefix match when `prefix` is set). pgrep never lists itself; other pgreps running at the same moment
 * are filtered out.
 */
export function leftovers(marker = MARKER, prefix = false): Promise<string[]> {
  const pattern = prefix ? marker : `${marker}$`
  return new Promise((resolve, reject) => {
    // pgrep directly (no shell, whose own command line would contain the marker); exit 1 means "none".
    execFile('pgrep', ['-a', '-f', pattern], (error, stdout) => {
      if (error && (error as { code?: unknown }).code !== 1) return reject(error)
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .filter((line) => !/^\d+ pgrep /.test(line)),
      )
    })
  })
}

/**
 * afterEach: kill the test's children still running, wait for them, then check that no process with
 * their markers is left; afterAll: no process with this file's marker at all (this also catches
 * grandchildren, e.g. the simulator's replicas, which carry the marker too).
 */
export function killChildrenAfterEach(): void {
  afterEach(async (context) => {
    const owned = [...(children.get(context.task.id) ?? []), ...(children.get('default') ?? [])]
    children.delete(context.task.id)
    children.delete('default')
    for (const child of owned) child.dispose()
    await Promise.all(owned.map((child) => child.exited))
    for (const child of owned) expect(await waitForNone(child.marker)).toEqual([])
  })
  afterAll(async () => {
    expect(await waitForNone(MARKER, 3000, true)).toEqual([])
  })
}

/** Polls `pgrep` for up to `timeoutMs` (a process SIGKILLed a moment ago may still be reaped). */
export async function waitForNone(marker: string, timeoutMs = 3000, prefix = false): Promise<string[]> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const left = await leftovers(marker, prefix)
    if (left.length === 0 || Date.now() > until) return left
    await delay(50)
  }
}

/** A small seeded PRNG (mulberry32), so a failing random run can be replayed from its printed seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface TaskReportLike {
  name: string
  phase: string
  outcome: string
  critical: boolean
  error?: string
  code?: string
}
export interface ReportLike {
  trigger: string
  reason: string
  start: number
  deadline: number
  end: number
  exitCode: number
  triggers: { trigger: string; reason: string; at: number }[]
  phases: { name: string; outcome: string; tasks: TaskReportLike[] }[]
}

/** The report the fixture's default logger wrote to stderr (the `report` event), if any. */
export const reportOf = (stderr: string[]) => loggedReport<ReportLike>(stderr)

export interface Answer {
  status: number
  body: string
}

/** One GET over `agent`; resolves to its status and body, rejects on a transport error. */
export function call(port: number, path: string, agent: Agent, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
