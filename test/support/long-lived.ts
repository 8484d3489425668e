// What the tests of the adapters for long-lived connections (ws, socket.io) share: the spread of the closes
// over their window, measured on the clients (generous bounds: a busy 2-core machine), as one suite each
// package runs on its own adapter; and the counting of close times into buckets. Import with a relative path:
// `import { describeSpread } from '../../../test/support/long-lived.js'`.
import type { Shutdown } from '@lameduck/core'
import { expect, it } from 'vitest'
import { fastClock } from './clock.js'
import { taskReport, testShutdown } from './shutdown.js'

/** How many of `times` fall into each `bucketMs` bucket from the first one. */
export function buckets(times: number[], bucketMs: number): number[] {
  const first = Math.min(...times)
  const counts: number[] = []
  for (const t of times) {
    const i = Math.floor((t - first) / bucketMs)
    counts[i] = (counts[i] ?? 0) + 1
  }
  return Array.from(counts, (n) => n ?? 0)
}

/** One adapter that closes long-lived connections, as the spread tests see it. */
export interface LongLivedCase<C> {
  /** Its task's name in the report: `'ws-close'`. */
  task: string
  /**
   * A fresh echo server with the adapter registered on `shutdown` with `options`, then listening: its port and
   * the adapter's handle.
   */
  start(
    shutdown: Shutdown,
    options: { spreadMs: number; timeoutMs: number; handshakeMs?: number },
  ): Promise<{ port: number; closing: { stats?: { windowMs: number; closed: number; terminated: number } } }>
  /** `n` connected clients of the server on `port`. */
  clientsOf(port: number, n: number): Promise<C[]>
  /** Resolves when the client saw its connection closed (told to reconnect): performance.now() then. */
  closedAt(client: C): Promise<number>
}

/** The spread tests: call inside the adapter's `describe`. */
export function itSpreadsTheCloses<C>(adapter: LongLivedCase<C>): void {
  it('spreads the closes evenly over spreadMs instead of all at once', async () => {
    const shutdown = testShutdown()
    const { port, closing } = await adapter.start(shutdown, { spreadMs: 1000, timeoutMs: 5000 })
    const clients = await adapter.clientsOf(port, 40)
    const started = performance.now()
    await shutdown.shutdown()
    const times = await Promise.all(clients.map((c) => adapter.closedAt(c)))
    const span = Math.max(...times) - Math.min(...times)
    // Ideally 975 ms (40 closes, 25 ms apart) and 4 per 100 ms.
    expect(span).toBeGreaterThan(700)
    expect(span).toBeLessThan(2500)
    expect(Math.min(...times) - started).toBeLessThan(500)
    expect(Math.max(...buckets(times, 100))).toBeLessThanOrEqual(12)
    expect(closing.stats).toMatchObject({ closed: 40, terminated: 0, windowMs: 1000 })
  })

  it('shortens the window to leave handshakeMs before the deadline', async () => {
    const shutdown = testShutdown()
    const { port, closing } = await adapter.start(shutdown, { spreadMs: 60_000, timeoutMs: 1000, handshakeMs: 300 })
    const clients = await adapter.clientsOf(port, 10)
    const report = await shutdown.shutdown()
    await Promise.all(clients.map((c) => adapter.closedAt(c)))
    // 1000 ms less the stopAt margin (50 ms) less 300 ms, less what the start took.
    expect(closing.stats!.windowMs).toBeGreaterThan(500)
    expect(closing.stats!.windowMs).toBeLessThanOrEqual(650)
    expect(taskReport(report, adapter.task).outcome).toBe('ok')
  })

  it('runs on the coordinator clock: a 10× clock spreads 2 s over about 200 ms', async () => {
    const shutdown = testShutdown({ clock: fastClock(10) })
    const { port, closing } = await adapter.start(shutdown, { spreadMs: 2000, timeoutMs: 8000 })
    const clients = await adapter.clientsOf(port, 10)
    const started = performance.now()
    await shutdown.shutdown()
    await Promise.all(clients.map((c) => adapter.closedAt(c)))
    expect(performance.now() - started).toBeLessThan(1500)
    expect(closing.stats).toMatchObject({ closed: 10, windowMs: 2000 })
  })
}
