import { type SpreadCloseSpec, type SpreadCloseStats, spreadClose } from '@lameduck/core/adapter'
import { describe, expect, it } from 'vitest'
import { manualClock } from './manual-clock.js'

/** A connection as an adapter sees it: told to go, then gone when its client has answered, or cut. */
interface Conn {
  readonly id: number
  told: number
  gone: boolean
  cut: boolean
}

const conns = (n: number, from = 0): Conn[] =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, told: 0, gone: false, cut: false }))

/** A close over `n` connections with the three verbs over `Conn` (a log of the calls), on a manual clock. */
function setup(n: number, extra: Partial<SpreadCloseSpec<Conn>> = {}) {
  const clock = manualClock()
  const stats: SpreadCloseStats = { acceptedDuringDrain: 0, closed: 0, terminated: 0, windowMs: 0 }
  const log: string[] = []
  const closing = spreadClose<Conn>({
    stats,
    goAway: (c) => {
      c.told++
      log.push(`goAway ${c.id}`)
    },
    isGone: (c) => c.gone,
    cut: (c) => {
      c.cut = true
      log.push(`cut ${c.id}`)
    },
    ...extra,
  })
  return { clock, stats, log, closing, present: conns(n) }
}

describe('spreadClose: the lame-duck close of long-lived connections, counted', () => {
  it('tells those present to go across the window left before `until`, then cuts and counts what is still there', async () => {
    const { clock, stats, log, closing, present } = setup(4)
    const until = clock.now() + 1000
    // 1000 ms to `until`, 200 kept for the last closes: the window is shortened from 2000 to 800 ms.
    const spreading = closing.spread(present, { spreadMs: 2000, reserveMs: 200, until, clock })
    expect(stats.windowMs).toBe(800)
    expect(log).toEqual(['goAway 0'])
    clock.advance(200)
    expect(log).toEqual(['goAway 0', 'goAway 1'])
    clock.advance(600)
    await expect(spreading).resolves.toBe(true)
    expect(present.map((c) => c.told)).toEqual([1, 1, 1, 1])

    const [a, b] = present as [Conn, Conn]
    a.gone = true
    expect(closing.allGone()).toBe(false)
    expect(stats.closed).toBe(1)
    b.gone = true
    // A connection the adapter holds that the task never took on (it was not open at the start) is counted too.
    const stranger = conns(1, 9)
    closing.cutRest(stranger)
    expect(stats).toEqual({ acceptedDuringDrain: 0, closed: 2, terminated: 3, windowMs: 800 })
    expect(log.filter((line) => line.startsWith('cut'))).toEqual(['cut 2', 'cut 3', 'cut 9'])
    expect(b.cut).toBe(false)
  })

  it('a connection accepted during the drain is counted, taken on and told at once', async () => {
    const { stats, closing, present } = setup(1)
    const [late] = present as [Conn]
    closing.accepted(late)
    expect(late.told).toBe(1)
    expect(stats.acceptedDuringDrain).toBe(1)
    expect(closing.allGone()).toBe(false)
    late.gone = true
    expect(closing.allGone()).toBe(true)
    expect(stats.closed).toBe(1)
    // Counted once, whatever is looked at afterwards.
    closing.cutRest([late])
    expect(stats).toMatchObject({ closed: 1, terminated: 0 })
  })

  it('allGone() stops at the first connection still there, and never looks again at one found gone', async () => {
    const looked: number[] = []
    const isGone = (c: Conn) => {
      looked.push(c.id)
      return c.gone
    }
    const { stats, closing, present } = setup(1000, { isGone })
    await closing.spread(present, { spreadMs: 0, reserveMs: 0, until: Number.POSITIVE_INFINITY })
    for (const c of present.slice(0, 10)) c.gone = true
    looked.length = 0
    expect(closing.allGone()).toBe(false)
    expect(looked).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    looked.length = 0
    expect(closing.allGone()).toBe(false)
    expect(looked).toEqual([10])
    expect(stats.closed).toBe(10)
  })

  it('settle() ends with the last gone() — no polling timer — or at `until`, and counts each close once', async () => {
    const watched: number[] = []
    const { clock, stats, closing, present } = setup(3, { onWatch: (c) => watched.push(c.id) })
    const until = clock.now() + 1000
    await closing.spread(present, { spreadMs: 0, reserveMs: 0, until, clock })
    expect(watched).toEqual([0, 1, 2])
    const settling = closing.settle(until, { clock })
    // Only the deadline's timer.
    expect(clock.pending()).toBe(1)
    for (const c of present) {
      c.gone = true
      closing.gone(c)
      closing.gone(c)
    }
    await expect(settling).resolves.toBe(true)
    expect(stats.closed).toBe(3)
    expect(clock.pending()).toBe(0)

    // One more accepted while waiting: the wait goes on for it, until `until`.
    const [late] = conns(1, 3) as [Conn]
    closing.accepted(late)
    expect(watched).toEqual([0, 1, 2, 3])
    const expiring = closing.settle(until, { clock })
    clock.advance(1000)
    await expect(expiring).resolves.toBe(false)
    closing.cutRest()
    expect(stats).toMatchObject({ acceptedDuringDrain: 1, closed: 3, terminated: 1 })
    // After the end nothing is taken on or counted as gone.
    closing.gone(late)
    closing.accepted(conns(1, 4)[0] as Conn)
    expect(watched).toEqual([0, 1, 2, 3])
    expect(stats).toMatchObject({ closed: 3, terminated: 1 })
  })

  it('a forgotten connection is neither counted nor cut, and may be the last one settle() waited for', async () => {
    const { clock, stats, log, closing, present } = setup(2)
    await closing.spread(present, { spreadMs: 0, reserveMs: 0, until: Number.POSITIVE_INFINITY, clock })
    const [a, b] = present as [Conn, Conn]
    a.gone = true
    closing.gone(a)
    const settling = closing.settle(Number.POSITIVE_INFINITY, { clock })
    closing.forget(b)
    await expect(settling).resolves.toBe(true)
    closing.cutRest()
    expect(stats).toMatchObject({ closed: 1, terminated: 0 })
    expect(log).not.toContain('cut 1')
  })

  it('the signal: spread() stops with those left untold (cut with the rest), settle() resolves false', async () => {
    const { clock, stats, log, closing, present } = setup(4)
    const controller = new AbortController()
    const options = { spreadMs: 400, reserveMs: 0, until: clock.now() + 1000, clock, signal: controller.signal }
    const spreading = closing.spread(present, options)
    clock.advance(100)
    controller.abort()
    await expect(spreading).resolves.toBe(false)
    await expect(closing.settle(options.until, { clock, signal: controller.signal })).resolves.toBe(false)
    expect(clock.pending()).toBe(0)
    closing.cutRest()
    expect(log).toEqual(['goAway 0', 'goAway 1', 'cut 0', 'cut 1', 'cut 2', 'cut 3'])
    expect(stats.terminated).toBe(4)
  })
})
