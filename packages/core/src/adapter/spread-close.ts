import { systemClock } from '../clock.js'
import { spread, spreadWindow } from './spread.js'
import { settleBy, type TimingOptions } from './timing.js'

// The lame-duck close of long-lived connections (WebSocket, socket.io, Server-Sent Events) is the same whatever
// the protocol: those open at the drain are told to go elsewhere one after the other across a window, one that
// arrives during the drain is told at once, they are waited for until shortly before the deadline, and what is
// still there then is cut — each outcome counted. The protocol is three verbs the adapter gives (tell one to go,
// whether one is gone, cut one); the rest is here.

/** The counts {@link spreadClose} keeps, as they change, in the adapter's stats (which has its own besides). */
export interface SpreadCloseStats {
  /** Connections accepted while the task ran ({@link SpreadClose.accepted}): told to go at once. */
  acceptedDuringDrain: number
  /** Connections the task answered for that were gone by the end: closed in order, or the client went first. */
  closed: number
  /** Connections still there at the end ({@link SpreadClose.cutRest}): cut. */
  terminated: number
  /** The window the connections present at the start were told to go over: see {@link spreadWindow}. */
  windowMs: number
}

/**
 * The stats of an adapter that closes its connections with {@link spreadClose} (WebSocket, socket.io): the
 * kit's counts, and the three every such adapter keeps besides.
 */
export interface ConnectionCloseStats extends SpreadCloseStats {
  /** Connections open when the task started. */
  connectionsAtStart: number
  /** Connections told to go ({@link SpreadCloseSpec.goAway}): a close frame sent, a transport closed. */
  closeSent: number
  /** How long the task took, by the coordinator's clock. */
  durationMs: number
}

/** What {@link spreadClose} is told of the adapter's connections. */
export interface SpreadCloseSpec<T extends object> {
  /** The adapter's stats: the counts of {@link SpreadCloseStats} are kept in it. */
  stats: SpreadCloseStats
  /**
   * Tells one connection to go (a close frame, the end of a stream): each of those present in its turn, one
   * accepted during the drain at once. One that can no longer be told (closing already) is left as it is, and
   * one that is no longer the adapter's (ended by the application) is {@link SpreadClose.forget | forgotten}.
   */
  goAway(connection: T): void
  /** Whether a connection is gone: nothing of it left to wait for. */
  isGone(connection: T): boolean
  /** Cuts a connection still there at the end (`terminated` counts it already): what it loses is counted here. */
  cut(connection: T): void
  /**
   * Called once for each connection when the task takes it on: an adapter that hears of every close listens
   * here, and says so with {@link SpreadClose.gone} — {@link SpreadClose.settle} then needs no polling.
   */
  onWatch?(connection: T): void
}

/** Options of {@link SpreadClose.spread}. */
export interface SpreadCloseOptions extends TimingOptions {
  /** The window wanted: shortened so that `reserveMs` remain before `until` ({@link spreadWindow}). */
  spreadMs: number
  /** Time kept at the end for the last closes to complete (close handshakes, flushes). */
  reserveMs: number
  /** Epoch ms on the clock by which the connections should be gone: the task context's `stopAt()`. */
  until: number
}

/** What {@link spreadClose} returns: one task run's close of its connections, step by step. */
export interface SpreadClose<T extends object> {
  /** A connection accepted while the task runs: counted in `acceptedDuringDrain`, taken on and told to go at once. */
  accepted(connection: T): void
  /** Takes on every one of `present`, then tells them to go, spread over the window (in `stats.windowMs`). */
  spread(present: Iterable<T>, options: SpreadCloseOptions): Promise<boolean>
  /**
   * Whether every connection taken on is gone; those found gone are counted in `closed`. The look stops at the
   * first one still there, and does not look again at one found gone: cheap enough to poll with thousands.
   */
  allGone(): boolean
  /** For an adapter that hears of every close: `connection` is gone — counted now, not at the next look. */
  gone(connection: T): void
  /** The task no longer answers for `connection` (its handle was removed, the application ended it): not counted. */
  forget(connection: T): void
  /**
   * Waits until {@link allGone} — looked at again each time {@link gone} or {@link forget} takes the last one —
   * until epoch ms `until` or until the signal aborts. Resolves `true` when they all went in time; never rejects.
   */
  settle(until: number, options?: TimingOptions): Promise<boolean>
  /**
   * The end: every connection taken on and not seen gone, and every one of `others` never taken on (those the
   * adapter still holds), is counted in `closed` if gone, and otherwise cut and counted in `terminated`. From
   * then on nothing is taken on or counted.
   */
  cutRest(others?: Iterable<T>): void
}

/**
 * The close of an adapter's long-lived connections, for one run of its task: created at the start of the run,
 * with the adapter's stats and its three verbs. `spread` resolves `true` once every connection present was told
 * to go, `false` when the signal aborted first (the rest are cut with the others). Then wait — `poll` with
 * {@link SpreadClose.allGone}, or {@link SpreadClose.settle} where every close is heard of — and `cutRest`.
 */
export function spreadClose<T extends object>(spec: SpreadCloseSpec<T>): SpreadClose<T> {
  const { stats } = spec
  /** Every connection taken on: each is counted once, and a forgotten one not at all. */
  const taken = new WeakSet<T>()
  /** Of those, the ones not seen gone (nor forgotten) yet. */
  const open = new Set<T>()
  let ended = false
  let wake: (() => void) | undefined
  const takeOn = (connection: T) => {
    if (ended || taken.has(connection)) return
    taken.add(connection)
    open.add(connection)
    spec.onWatch?.(connection)
  }
  const drop = (connection: T) => {
    if (!open.delete(connection)) return false
    if (open.size === 0) wake?.()
    return true
  }
  const allGone = () => {
    for (const connection of open) {
      if (!spec.isGone(connection)) return false
      open.delete(connection)
      stats.closed++
    }
    return true
  }

  return {
    accepted(connection) {
      stats.acceptedDuringDrain++
      takeOn(connection)
      spec.goAway(connection)
    },
    async spread(present, options) {
      const { spreadMs, reserveMs, until, clock = systemClock, signal } = options
      const connections = [...present]
      for (const connection of connections) takeOn(connection)
      stats.windowMs = spreadWindow(spreadMs, { until, reserveMs, clock })
      const timing = { windowMs: stats.windowMs, clock, signal }
      const { left } = await spread(connections, timing, (connection) => spec.goAway(connection))
      return left.length === 0
    },
    allGone,
    gone(connection) {
      if (drop(connection)) stats.closed++
    },
    forget(connection) {
      drop(connection)
    },
    async settle(until, options = {}) {
      const { clock = systemClock, signal } = options
      while (!allGone()) {
        if (signal?.aborted) return false
        const emptied = new Promise<void>((resolve) => {
          wake = resolve
        })
        const outcome = await settleBy(emptied, until, { clock, signal })
        wake = undefined
        if (!outcome.done) return false
      }
      return true
    },
    cutRest(others = []) {
      ended = true
      const rest = new Set(open)
      open.clear()
      for (const connection of others) if (!taken.has(connection)) rest.add(connection)
      for (const connection of rest) {
        if (spec.isGone(connection)) {
          stats.closed++
          continue
        }
        stats.terminated++
        spec.cut(connection)
      }
    },
  }
}
