// A rolling termination of a gRPC service, as the kubelet and kube-proxy do it: two replicas of a real
// grpc-js service behind the simulator's kube-proxy (connections pinned to the replica they were routed
// to), grpc-js clients on keep-alive channels making unary and streaming calls without pause, long calls in
// flight on replica A; A is sent SIGTERM and taken out of the endpoints a little later. With lameduck's
// drain: not one failed call, every in-flight call completed, A gone long before its grace period. The
// control — forceShutdown() on SIGTERM — fails calls, so this test can fail.
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { terminate } from '../../testkit/src/kubelet.js'
import { freePorts } from '../../testkit/src/ports.js'
import { KubeProxy } from '../../testkit/src/proxy.js'
import { Replica } from '../../testkit/src/replica.js'
import { check, Echo, grpc, healthClient, OWN_CONNECTION, stream, unary } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url))
const TIMING = { warmupMs: 800, propagationMs: 400, drainDelayMs: 1_000, tailMs: 500, graceMs: 10_000 }
const CHANNELS = 8
/** A client's keep-alive: pings on an idle connection too, as long-lived gRPC channels are set up. */
const KEEPALIVE = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
}

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

interface Tally {
  calls: number
  failed: number
  failures: Record<string, number>
  byReplica: Record<string, number>
}

function tally(): Tally {
  return { calls: 0, failed: 0, failures: {}, byReplica: {} }
}

function record(into: Tally, outcome: { code: number; details: string; messages: { text?: string }[] }): void {
  into.calls++
  if (outcome.code !== 0) {
    into.failed++
    // The details carry a timestamp ("Last error: read ECONNRESET (2026-…)"): counted without it.
    const key = `${grpc.status[outcome.code]}: ${outcome.details.replace(/ \(\d{4}-[^)]*\)/, '').trim()}`
    into.failures[key] = (into.failures[key] ?? 0) + 1
    return
  }
  const replica = outcome.messages[0]?.text ?? '?'
  into.byReplica[replica] = (into.byReplica[replica] ?? 0) + 1
}

async function rollingTermination(mode: 'lameduck' | 'plain') {
  const [portA, portB, adminA, adminB] = (await freePorts(4)) as [number, number, number, number]
  const env = (name: string) => ({ REPLICA: name, SHUTDOWN: mode, DRAIN_DELAY_MS: String(TIMING.drainDelayMs) })
  const a = new Replica('A', portA, adminA, process.execPath, [fixture], env('A'))
  const b = new Replica('B', portB, adminB, process.execPath, [fixture], env('B'))
  cleanup.push(
    () => a.killGroup(),
    () => b.killGroup(),
  )
  await Promise.all([a, b].map((r) => r.waitListening(r.port, 15_000, 'PORT', fixture)))
  const proxy = new KubeProxy()
  await proxy.listen(0)
  cleanup.push(() => proxy.close())
  proxy.add('A', portA)
  proxy.add('B', portB)

  // The clients: each channel its own connection, routed by the proxy when it opens (round robin).
  const clients = Array.from(
    { length: CHANNELS },
    () => new Echo(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), { ...OWN_CONNECTION, ...KEEPALIVE }),
  )
  cleanup.push(() => {
    for (const client of clients) client.close()
  })
  const load = { unary: tally(), streams: tally() }
  let running = true
  // A failed call is followed by a pause, so that a channel that fails fast does not spin.
  const pause = (outcome: { code: number }) => (outcome.code === 0 ? undefined : delay(10))
  const loops = clients.flatMap((client) => [
    (async () => {
      while (running) {
        const outcome = await unary(client, 'Unary', { ms: 5 })
        record(load.unary, outcome)
        await pause(outcome)
      }
    })(),
    (async () => {
      while (running) {
        const outcome = await stream(client, 'Count', { n: 4, ms: 25 }).ended
        // A stream that ended OK must have had every message.
        const complete = outcome.code !== 0 || outcome.messages.length === 4
        record(load.streams, complete ? outcome : { ...outcome, code: grpc.status.DATA_LOSS, details: 'incomplete' })
        await pause(outcome)
      }
    })(),
  ])
  await delay(TIMING.warmupMs)

  // Long calls straight to A, as on connections kube-proxy routed there earlier: in flight at the SIGTERM.
  const pinned = new Echo(`127.0.0.1:${portA}`, grpc.credentials.createInsecure(), OWN_CONNECTION)
  cleanup.push(() => pinned.close())
  const long = tally()
  const longCalls = [
    unary(pinned, 'Unary', { ms: 1_500 }),
    unary(pinned, 'Unary', { ms: 1_500 }),
    stream(pinned, 'Count', { n: 15, ms: 100 }).ended,
    stream(pinned, 'Count', { n: 15, ms: 100 }).ended,
  ].map((call) => call.then((outcome) => record(long, outcome)))
  await delay(100)

  // The termination: SIGTERM now (no preStop hook), A out of the endpoints `propagationMs` later.
  const start = performance.now()
  const propagated = delay(TIMING.propagationMs).then(() => proxy.remove('A'))
  const probe = healthClient(portA)
  cleanup.push(() => probe.close())
  const health = delay(TIMING.propagationMs / 2).then(() => check(probe))
  const termination = await terminate(a, { graceMs: TIMING.graceMs, signal: 'SIGTERM', startedAt: start })
  await propagated
  await delay(TIMING.tailMs)
  running = false
  await Promise.all([...loops, ...longCalls])
  const answeredByA = load.unary.byReplica.A ?? 0
  return { load, long, termination, health: await health.catch(() => 'failed'), answeredByA, a }
}

/** Every failure of the tallies, by status and details, added up. */
function failures(...tallies: Tally[]): Record<string, number> {
  const all: Record<string, number> = {}
  for (const t of tallies) for (const [key, n] of Object.entries(t.failures)) all[key] = (all[key] ?? 0) + n
  return all
}

function summary(mode: string, r: Awaited<ReturnType<typeof rollingTermination>>): string {
  const { unary: u, streams: s } = r.load
  return (
    `${mode}: ${u.calls} unary (${u.failed} failed), ${s.calls} streams (${s.failed} failed), ` +
    `${r.long.calls} long in flight on A (${r.long.failed} failed); A exited ${Math.round(r.termination.exitAtMs)} ms ` +
    `after SIGTERM, code ${r.termination.exit.code}, sigkill ${r.termination.sigkill}; ` +
    `failures ${JSON.stringify(failures(u, s, r.long))}`
  )
}

it('with drainGrpcServer: 0 failed calls, every in-flight call completed, A exits on its own', async () => {
  const r = await rollingTermination('lameduck')
  const line = summary('lameduck', r)
  console.log(line)
  expect(r.load.unary.failed + r.load.streams.failed, line).toBe(0)
  expect(r.long, line).toMatchObject({ calls: 4, failed: 0 })
  // Load really flowed, on both replicas, through the termination.
  expect(r.load.unary.calls, line).toBeGreaterThan(200)
  expect(r.load.streams.calls, line).toBeGreaterThan(50)
  expect(r.load.unary.byReplica.B, line).toBeGreaterThan(0)
  expect(r.answeredByA, line).toBeGreaterThan(0)
  // A said NOT_SERVING from the SIGTERM on, kept serving through the delay, and exited 0 without SIGKILL.
  expect(r.health, line).toBe('NOT_SERVING')
  expect(r.termination.exit.code, line).toBe(0)
  expect(r.termination.sigkill, line).toBe(false)
  expect(r.termination.exitAtMs, line).toBeGreaterThanOrEqual(TIMING.drainDelayMs - 100)
  expect(r.termination.exitAtMs, line).toBeLessThan(6_000)
  expect(r.a.report?.exitCode, line).toBe(0)
}, 60_000)

it('the control, forceShutdown() on SIGTERM: calls fail', async () => {
  const r = await rollingTermination('plain')
  const line = summary('control', r)
  console.log(line)
  expect(r.load.unary.failed + r.load.streams.failed + r.long.failed, line).toBeGreaterThan(0)
  expect(r.long.failed, line).toBe(4)
}, 60_000)

it('a stream that never ends cannot hold the process: A exits at the drain budget, the stream CANCELLED', async () => {
  const [port, admin] = (await freePorts(2)) as [number, number]
  const a = new Replica('A', port, admin, process.execPath, [fixture], {
    REPLICA: 'A',
    DRAIN_DELAY_MS: '0',
    DRAIN_TIMEOUT_MS: '1000',
  })
  cleanup.push(() => a.killGroup())
  await a.waitListening(port, 15_000, 'PORT', fixture)
  const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), OWN_CONNECTION)
  cleanup.push(() => client.close())
  const forever = stream(client, 'Count', { n: -1 })
  await forever.first
  const start = performance.now()
  const termination = await terminate(a, { graceMs: 10_000, signal: 'SIGTERM', startedAt: start })
  expect((await forever.ended).code).toBe(grpc.status.CANCELLED)
  expect(termination.sigkill).toBe(false)
  // Critical drain forced: exit 1, as the report says.
  expect(termination.exit.code).toBe(1)
  expect(termination.exitAtMs).toBeGreaterThanOrEqual(900)
  expect(termination.exitAtMs).toBeLessThan(4_000)
  expect(a.report?.notOk).toMatchObject([
    { name: 'grpc-drain', outcome: 'error', error: expect.stringMatching(/^cut 1 call\(s\) and 1 HTTP\/2 session/) },
  ])
}, 30_000)
