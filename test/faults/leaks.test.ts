import { Agent, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DEFAULTS } from '@lameduck/core'
import { createProbes, drainHttpServer } from '@lameduck/http'
import { expect, it } from 'vitest'
import { delay, testShutdown } from '../support/shutdown.js'
import { call, killChildrenAfterEach, leftovers, MARKER, reportOf, spawnFixture, waitForNone } from './support.js'

// Nothing left behind: no handle in-process after a real drain, no signal listener after uninstall() or
// close(), no child process after the runs.
const TOKEN = 'faults-token-0123456789abcdef'

killChildrenAfterEach()

/** Counts of the active resources by type (sockets, servers, timers…). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

const settle = async () => {
  // Let the closes of the last sockets run their callbacks.
  for (let i = 0; i < 5; i++) await delay(20)
}

it('in-process: a full run leaves no socket, server, timer or signal listener behind', async () => {
  await settle()
  const before = resources()
  const listenersBefore = { SIGTERM: process.listenerCount('SIGTERM'), SIGINT: process.listenerCount('SIGINT') }

  const shutdown = testShutdown({ signals: DEFAULTS.signals, drainDelayMs: 150, gracePeriodMs: 5000 })
  expect(process.listenerCount('SIGTERM')).toBe(listenersBefore.SIGTERM + 1)
  expect(process.listenerCount('SIGINT')).toBe(listenersBefore.SIGINT + 1)
  const probes = createProbes(shutdown, { token: TOKEN })
  const server = createServer((req, res) => {
    if (probes(req, res)) return
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/slow') setTimeout(() => res.end('slow done'), Number(url.searchParams.get('ms')))
    else res.end('hello')
  })
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  const drain = drainHttpServer(shutdown, server, { timeoutMs: 2000 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  // Keep-alive connections left idle, and one request in flight when the shutdown starts.
  const agent = new Agent({ keepAlive: true })
  await Promise.all(Array.from({ length: 8 }, () => call(port, '/', agent)))
  const during = resources()
  expect(during.TCPServerWrap ?? 0).toBeGreaterThan(before.TCPServerWrap ?? 0)
  // The server's ends of the 8 keep-alive connections (the agent unrefs its idle ends, so they are not listed).
  expect(during.TCPSocketWrap ?? 0).toBeGreaterThanOrEqual((before.TCPSocketWrap ?? 0) + 8)
  const slow = call(port, '/slow?ms=300', agent)
  await delay(20)

  const report = await shutdown.close()
  expect(await slow).toEqual({ status: 200, body: 'slow done' })
  expect(report.exitCode).toBe(0)
  expect(drain.stats).toMatchObject({ forced: 0, requestsCut: 0 })
  expect(drain.connections()).toBe(0)
  expect(server.listening).toBe(false)
  await settle()

  // The drain closed every server-side socket, and the client saw each close: the agent holds nothing.
  const after = resources()
  for (const type of ['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate'])
    expect(`${type}: ${after[type] ?? 0}`).toBe(`${type}: ${before[type] ?? 0}`)
  expect(process.listenerCount('SIGTERM')).toBe(listenersBefore.SIGTERM)
  expect(process.listenerCount('SIGINT')).toBe(listenersBefore.SIGINT)
  agent.destroy()
})

it('in-process: uninstall() removes the signal and fatal-error listeners of a coordinator that never ran', () => {
  const counts = () =>
    ['SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection'].map(
      (event) => `${event} ${process.listenerCount(event)}`,
    )
  const before = counts()
  const shutdown = testShutdown({ fatalErrors: true, signals: ['SIGTERM', 'SIGINT', 'SIGHUP'] })
  expect(counts()).not.toEqual(before)
  shutdown.uninstall()
  expect(counts()).toEqual(before)
  shutdown.uninstall() // idempotent
  expect(counts()).toEqual(before)
})

it('child processes: none left behind after SIGTERM runs, a forced SIGINT exit and a SIGKILL', async () => {
  const env = { LAMEDUCK_SHUTDOWN_TOKEN: TOKEN, TASK_MS: '50' }
  const graceful = [spawnFixture('phased-service.mjs', env), spawnFixture('phased-service.mjs', env)]
  const forced = spawnFixture('phased-service.mjs', env)
  const killed = spawnFixture('phased-service.mjs', env)
  const all = [...graceful, forced, killed]
  await Promise.all(all.map((child) => child.waitFor('ready')))
  // While they run, pgrep does see them: the check below can fail.
  expect(await leftovers(MARKER, true)).toHaveLength(all.length)

  for (const child of graceful) child.child.kill('SIGTERM')
  forced.child.kill('SIGINT')
  await forced.waitFor('phase readiness')
  forced.child.kill('SIGINT')
  killed.child.kill('SIGKILL')
  const exits = await Promise.all(all.map((child) => child.exited))
  expect(exits.map((e) => e.code ?? e.signal)).toEqual([0, 0, 130, 'SIGKILL'])
  for (const child of graceful) expect(reportOf(child.stderr)?.exitCode).toBe(0)
  expect(await waitForNone(MARKER, 3000, true)).toEqual([])
})
