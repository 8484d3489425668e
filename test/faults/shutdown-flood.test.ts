import { Agent } from 'node:http'
import { expect, it } from 'vitest'
import { jsonLines } from '../support/child.js'
import { call, killChildrenAfterEach, type ReportLike, spawnFixture } from './support.js'

// The preStop endpoint under a flood of unauthorized calls: each one must be refused with 401 and start
// nothing; then a few authorized calls at once must all get the one report, and the process exit once.
const TOKEN = 'faults-token-0123456789abcdef'
const FLOOD = 200
const VALID = 5

killChildrenAfterEach()

it(`${FLOOD} wrong-token + ${FLOOD} token-less /shutdown calls start nothing; ${VALID} valid ones share one report`, async () => {
  const child = spawnFixture('phased-service.mjs', { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, GRACE_MS: '5000', TASK_MS: '100' })
  const port = Number((await child.waitFor(/^listening \d+$/)).split(' ')[1])
  await child.waitFor('ready')
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  try {
    const wrong = ['Bearer wrong-token-0123456789abcdef', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN]
    const flood = await Promise.all([
      ...Array.from({ length: FLOOD }, (_, i) =>
        call(port, '/shutdown', agent, { authorization: wrong[i % wrong.length] as string }),
      ),
      ...Array.from({ length: FLOOD }, (_, i) =>
        call(
          port,
          i % 2 ? '/shutdown' : '/shutdown?now=1',
          agent,
          i % 3 ? {} : { authorization: 'Basic Zm9vOmJhcg==' },
        ),
      ),
    ])
    expect(flood).toHaveLength(2 * FLOOD)
    const statuses = flood.map((a) => a.status)
    expect(statuses.filter((s) => s !== 401)).toEqual([])
    expect(new Set(flood.map((a) => a.body))).toEqual(new Set(['{"error":"unauthorized"}']))

    // Nothing was triggered: still ready, still serving, no trigger anywhere, no phase started.
    expect(await call(port, '/readyz', agent)).toMatchObject({ status: 200 })
    expect(await call(port, '/', agent)).toEqual({ status: 200, body: 'hello\n' })
    expect(child.stdout.filter((line) => line.startsWith('trigger ') || line.startsWith('phase '))).toEqual([])
    expect(jsonLines(child.stderr).filter((line) => line.event === 'trigger')).toEqual([])
    expect(child.child.exitCode).toBeNull()
    agent.destroy()

    // Now the kubelet (several times at once, as a retrying hook might).
    const valid = await Promise.all(
      Array.from({ length: VALID }, () =>
        call(port, '/shutdown', new Agent({ keepAlive: false }), { authorization: `Bearer ${TOKEN}` }),
      ),
    )
    const exit = await child.exited
    const detail = `stdout: ${child.stdout.join(' | ')}`
    expect(
      valid.map((a) => a.status),
      detail,
    ).toEqual(Array(VALID).fill(200))
    // The same report, byte for byte, for every caller.
    expect(new Set(valid.map((a) => a.body)).size, detail).toBe(1)
    const report = JSON.parse(valid[0]?.body ?? '{}') as ReportLike
    expect(report.exitCode).toBe(0)
    expect(report.trigger).toBe('http')
    expect(report.triggers.map((t) => `${t.trigger} ${t.reason}`)).toEqual(Array(VALID).fill('http GET /shutdown'))
    // One run, one exit, code 0.
    expect(exit.code, detail).toBe(0)
    expect(child.stdout.filter((line) => line.startsWith('trigger ')).filter((l) => l.endsWith(' true'))).toEqual([
      'trigger http GET /shutdown true',
    ])
    expect(jsonLines(child.stderr).filter((line) => line.event === 'exit')).toEqual([
      expect.objectContaining({ exitCode: 0 }),
    ])
    expect(child.stdout.filter((line) => line === 'phase drain')).toHaveLength(1)
  } finally {
    agent.destroy()
  }
})
