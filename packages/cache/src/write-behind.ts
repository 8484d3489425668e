import { setMaxListeners } from 'node:events'
import type { AbandonEvent, Clock, Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  abortable,
  checkOptions,
  describeValue,
  linkSignals,
  optionalSignal,
  registerTask,
  settleBy,
  sleep,
} from '@lameduck/core/adapter'
import { ENTRY_OVERHEAD_BYTES } from './defaults.js'
import { type Encoder, encodeJson, encodeWith } from './encode.js'
import { CacheClosedError, CacheFlushIncompleteError, CacheFullError, InvalidCacheValueError } from './errors.js'
import {
  type ResolvedCacheOptions,
  resolveCacheOptions,
  type UnflushedEntry,
  type WriteBehindOptions,
} from './options.js'
import type { Sink, SinkEntry } from './sink.js'

export interface FlushResult {
  /** Entries written by this flush. */
  flushed: number
  /** Dirty entries still unwritten. */
  left: number
  /** Of those, entries the sink refused when written alone, waiting for their retry. */
  failing: number
}

export interface WriteBehindStats {
  /** Entries in memory, written or not. */
  size: number
  /** Entries not yet written. */
  dirty: number
  /** Estimated bytes held (the `maxBytes` estimate). */
  bytes: number
  /** Entries the sink refused when written alone, each retried with its own backoff. */
  failing: number
  /** Entries written since creation. */
  flushed: number
  /** Failed `sink.write` calls since creation (each retried, split or alone). */
  failedWrites: number
  /** Written entries let go to make room (least recently used first). */
  evicted: number
  /** `set()` calls refused with `CacheFullError`. */
  refusedFull: number
}

/**
 * An in-memory cache whose writes reach the sink later, in batches — and for certain at shutdown. It is
 * the registration of its shutdown flush task too: `name` is the task's, `remove()` (also
 * `[Symbol.dispose]`) takes the cache off the coordinator.
 */
export interface WriteBehindCache<V = unknown> extends Registration {
  /** The cache's name in logs and metrics: its shutdown flush task's name. */
  readonly name: string
  /**
   * Stores the value and marks it dirty. Never waits: throws `CacheFullError` when the cache is at its
   * limits with nothing written to let go, `InvalidCacheValueError` for a value it could not give back
   * unchanged, and `CacheClosedError` once its shutdown flush is over.
   */
  set(key: string, value: V): void
  /** `set()`, but waits for room instead of throwing `CacheFullError` (in order of arrival). */
  setOrWait(key: string, value: V, options?: { signal?: AbortSignal }): Promise<void>
  get(key: string): V | undefined
  has(key: string): boolean
  /** Forgets the key; a pending write of it is dropped (nothing is deleted in the sink). Refused once closed. */
  delete(key: string): boolean
  readonly size: number
  /** Entries not yet written to the sink. */
  readonly dirty: number
  /** Writes every dirty entry now (one pass; failures stay dirty). */
  flush(signal?: AbortSignal): Promise<FlushResult>
  stats(): WriteBehindStats
  /**
   * Takes the cache off the coordinator: unregisters its shutdown flush task (a no-op once the `flush`
   * phase has started), stops the background flushes and closes the cache for writes (`CacheClosedError`,
   * for `setOrWait()` still waiting too), since nothing would write them any more. Dirty entries stay in
   * memory: `get()` still reads them and `flush()` still writes them. Idempotent; also `[Symbol.dispose]`
   * (`using cache = createWriteBehind(…)`).
   */
  remove(): void
}

export type { UnflushedEntry, WriteBehindOptions } from './options.js'

/**
 * Creates a write-behind cache whose dirty entries are written to `sink` in the background and by a
 * `flush`-phase task at shutdown — retried within the budget, looping until clean, so writes made during
 * the flush are written too. Values: strings as they are, anything else as JSON (or through `encode`).
 *
 * Registered by the kit's rules: a second cache with the default name is `write-behind-2`, a name you
 * chose that is taken throws `DuplicateTaskError`, and a sink already given to another cache of the same
 * coordinator throws `DuplicateRegistrationError` (one sink per cache: the cache's ordering of the
 * writes of one key holds within one cache only).
 */
export function createWriteBehind<V = unknown>(
  shutdown: Shutdown,
  options: WriteBehindOptions<V>,
): WriteBehindCache<V> {
  const cache = new WriteBehind<V>(shutdown, resolveCacheOptions<V>(shutdown, options))
  const { remove } = cache.registration
  // The handle every adapter returns — a Registration plus the cache's own members — as a plain object.
  return {
    name: cache.name,
    set: (key, value) => cache.set(key, value),
    setOrWait: (key, value, options) => cache.setOrWait(key, value, options),
    get: (key) => cache.get(key),
    has: (key) => cache.has(key),
    delete: (key) => cache.delete(key),
    get size() {
      return cache.size
    },
    get dirty() {
      return cache.dirty
    },
    flush: (signal) => cache.flush(signal),
    stats: () => cache.stats(),
    remove,
    [Symbol.dispose]: remove,
  }
}

/** Where an entry keeps the value `get()` returns: a symbol, so a sink that serializes its batch does not see it. */
const HELD = Symbol('lameduck.cache.value')

/**
 * An entry: one record per `set()`, in the entries map and, while unwritten, in the dirty map. Batches
 * hand these records to the sink as they are (no copy per entry); a write cleans an entry only if its
 * record is still the one in the dirty map, so a newer value set meanwhile stays dirty. A landed write
 * only flips `clean` — no map is touched but the dirty one: inserting every written entry into a map of
 * its own cost the shutdown flush of 100,000 entries about 45 ms (2.5× the cache's own time).
 */
interface Dirty extends SinkEntry {
  /** The write carrying this record while it is in flight — even one a flush stopped waiting for. */
  write: Promise<void> | undefined
  /** Its share of the `maxBytes` estimate. */
  size: number
  /** Written, and still the key's latest value: may be let go to make room. */
  clean: boolean
  [HELD]: unknown
}

/** An entry the sink refused when written alone: retried on its own schedule, not every sweep. */
interface Failure {
  entry: Dirty
  error: unknown
  attempts: number
  retryAt: number
}

/** A `setOrWait()` waiting for room. */
interface Waiter {
  key: string
  value: unknown
  encoded: string
  resolve(): void
  reject(error: unknown): void
}

/** What the writers of one sweep learn about the sink. */
interface Sweep {
  successes: number
  failures: number
  /** Failed writes with no success at all past this many: the sink itself is failing, not some entries. */
  cap: number
  sinkDown: boolean
  /** A failed write has been logged in this sweep: one line per sweep, not one per batch. */
  logged: boolean
}

/** The estimated memory of one entry (see `ENTRY_OVERHEAD_BYTES`). */
const costOf = (key: string, encoded: string) => key.length + encoded.length + ENTRY_OVERHEAD_BYTES

class WriteBehind<V> {
  /** Every entry held, least recently used (`get` or `set`) first. */
  readonly #entries = new Map<string, Dirty>()
  readonly #dirty = new Map<string, Dirty>()
  readonly #failing = new Map<string, Failure>()
  readonly #waiters: Waiter[] = []
  readonly #sink: Sink
  readonly #options: ResolvedCacheOptions<V>
  readonly #encoder: Encoder<V> | undefined
  readonly #timer: NodeJS.Timeout | undefined
  /** Its shutdown flush task; `remove()` also closes the cache (see #remove). */
  readonly registration: Registration
  readonly #shutdown: Shutdown
  /** The coordinator's clock: every budget and retry decision is made by it. */
  readonly #clock: Clock
  #bytes = 0
  /** Entries written and held for `get()`: what can be let go to make room. */
  #cleanCount = 0
  /** The shutdown flush has started: background flushes are over, writes still go in (and are written). */
  #flushing = false
  /** No more writes: the shutdown flush is over, or what it could not write was handed over. */
  #closed: string | undefined
  #handedOver = false
  #relieving = false
  #flushed = 0
  #failedWrites = 0
  #evicted = 0
  #refusedFull = 0
  /** How many failing entries the last warning named; it is repeated only when more fail. */
  #warnedFailing = 0
  #lastError: unknown
  #running: Promise<FlushResult> | undefined
  /**
   * Keys set again (or deleted and set again) while a write of an older value is in flight, each with
   * that write: not written until it settles, so the older value cannot land after the newer one.
   */
  readonly #held = new Map<string, Promise<void>>()
  /** Every sink write in flight, including writes a flush stopped waiting for (they may still land). */
  readonly #inFlight = new Set<Promise<void>>()
  readonly #background = new AbortController()
  /** Aborted when the shutdown flush starts: any other flush still running — or started later — stops. */
  readonly #interrupt = new AbortController()

  readonly name: string

  constructor(shutdown: Shutdown, options: ResolvedCacheOptions<V>) {
    this.#shutdown = shutdown
    this.#clock = shutdown.clock
    this.#options = options
    this.#sink = options.sink
    this.#encoder = options.encode
    this.registration = registerTask(shutdown, {
      where: 'createWriteBehind',
      task: options.task,
      // One sink, one cache: two caches writing one key through it could land their values in either order.
      resource: options.sink,
      resourceLabel: 'this sink (each cache needs its own: two writing one key through it could land in either order)',
      run: (signal, context) => this.#shutdownFlush(signal, context),
      // Skipped (an earlier phase ate the budget), timed out, or the process exiting while it runs: what
      // is still unwritten goes to onUnflushed now, synchronously, before the exit.
      onAbandon: (event) => this.#handOver(event.error, abandonedWhy(event)),
      onRemove: () => this.#remove(),
    })
    this.name = this.registration.name
    // Not a budget decision, so a plain timer (unref'd: it must not keep the process alive).
    if (options.flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.#backgroundFlush(), options.flushIntervalMs)
      this.#timer.unref()
    }
  }

  set(key: string, value: V): void {
    this.#checkOpen()
    const encoded = this.#encode(key, value)
    if (this.#store(key, value, encoded)) return
    this.#refusedFull++
    this.#relieve()
    throw this.#fullError(key, encoded)
  }

  async setOrWait(key: string, value: V, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkOptions('setOrWait', options, ['signal'])
    const signal = optionalSignal('signal of setOrWait', options.signal)
    this.#checkOpen()
    const encoded = this.#encode(key, value)
    signal?.throwIfAborted()
    if (costOf(key, encoded) > this.#options.maxBytes) throw this.#fullError(key, encoded)
    // In order of arrival: a waiter is not overtaken by a later setOrWait().
    if (this.#waiters.length === 0 && this.#store(key, value, encoded)) return
    this.#relieve()
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#waiters.indexOf(waiter)
        if (at !== -1) this.#waiters.splice(at, 1)
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        key,
        value,
        encoded,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    // Least recently used goes first: a read keeps an entry in memory.
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry[HELD] as V
  }

  has(key: string): boolean {
    return this.#entries.has(key)
  }

  delete(key: string): boolean {
    this.#checkOpen()
    const older = this.#dirty.get(key)
    if (older) {
      // Set again, the key would go to the end of the map, where the sweep in progress could write it while
      // the old value's write is still in flight — and the two could land in either order.
      if (older.write) this.#held.set(key, older.write)
      this.#dirty.delete(key)
    }
    if (this.#failing.size > 0) this.#failing.delete(key)
    const entry = this.#entries.get(key)
    if (entry === undefined) return false
    this.#entries.delete(key)
    this.#bytes -= entry.size
    if (entry.clean) this.#cleanCount--
    if (this.#waiters.length > 0) this.#wake()
    return true
  }

  get size(): number {
    return this.#entries.size
  }

  get dirty(): number {
    return this.#dirty.size
  }

  stats(): WriteBehindStats {
    return {
      size: this.size,
      dirty: this.dirty,
      bytes: this.#bytes,
      failing: this.#failing.size,
      flushed: this.#flushed,
      failedWrites: this.#failedWrites,
      evicted: this.#evicted,
      refusedFull: this.#refusedFull,
    }
  }

  flush(signal?: AbortSignal): Promise<FlushResult> {
    const checked = optionalSignal('signal of flush', signal) ?? new AbortController().signal
    return this.#exclusive(() => this.#pass(checked, { retry: false }))
  }

  /** Called once by the registration's `remove()`, after the task is unregistered. */
  #remove(): void {
    // Nothing would write them any more: refused (CacheClosedError), not accepted and left in memory.
    this.#close('was removed from its coordinator (remove())')
  }

  #checkOpen(): void {
    if (this.#closed !== undefined) throw new CacheClosedError(this.name, this.#closed)
  }

  #encode(key: string, value: V): string {
    if (typeof key !== 'string')
      throw new InvalidCacheValueError(String(key), `cache keys are strings; got ${describeValue(key)}`)
    return this.#encoder ? encodeWith(this.#encoder, key, value) : encodeJson(key, value)
  }

  /**
   * Stores the entry if it fits within the limits — letting written entries go, least recently used
   * first, to make room. False when it does not fit: everything held is still unwritten.
   */
  #store(key: string, value: V, encoded: string): boolean {
    const size = costOf(key, encoded)
    const old = this.#entries.get(key)
    const freed = old ? old.size : 0
    const added = old ? 0 : 1
    const { maxEntries, maxBytes } = this.#options
    if (
      (this.#entries.size + added > maxEntries || this.#bytes - freed + size > maxBytes) &&
      !this.#evict(added, size - freed, key)
    )
      return false
    const older = this.#dirty.get(key)
    if (older?.write) this.#held.set(key, older.write)
    if (old) {
      if (old.clean) this.#cleanCount--
      // The most recently set goes last.
      this.#entries.delete(key)
    }
    this.#bytes += size - freed
    // A new value gets a fresh chance: the sink refused the old one.
    if (this.#failing.size > 0) this.#failing.delete(key)
    const entry: Dirty = { key, value: encoded, write: undefined, size, clean: false, [HELD]: value }
    this.#entries.set(key, entry)
    this.#dirty.set(key, entry)
    return true
  }

  /**
   * Lets written entries go, least recently used first (never `except`), until `added` more entries and
   * `bytes` more fit — and on, down to 99 % of the limits. In bulk because each scan starts at the front of
   * the map, past the holes earlier evictions left there (a map iterator skips them one by one; one kept
   * open across calls would instead pin every table the map has outgrown): paid once per 1 % of the limit,
   * a scan costs a few steps per `set()`; paid on every `set()` of a full cache, it halved the writers' rate
   * in the cache-memory bench.
   */
  #evict(added: number, bytes: number, except: string): boolean {
    const { maxEntries, maxBytes } = this.#options
    const fits = () => this.#entries.size + added <= maxEntries && this.#bytes + bytes <= maxBytes
    if (this.#cleanCount === 0) return fits()
    const goal = (limit: number) => (Number.isFinite(limit) ? limit - Math.floor(limit / 100) : limit)
    const entriesGoal = goal(maxEntries)
    const bytesGoal = goal(maxBytes)
    const roomy = () => this.#entries.size + added <= entriesGoal && this.#bytes + bytes <= bytesGoal
    for (const [key, entry] of this.#entries) {
      if (!entry.clean || key === except) continue
      this.#entries.delete(key)
      this.#cleanCount--
      this.#bytes -= entry.size
      this.#evicted++
      if (this.#cleanCount === 0 || roomy()) break
    }
    return fits()
  }

  #fullError(key: string, encoded: string): CacheFullError {
    const { maxEntries, maxBytes } = this.#options
    return new CacheFullError(this.name, this.#entries.size, this.#bytes, maxEntries, maxBytes, costOf(key, encoded))
  }

  /** Room was made (a write landed, a key was deleted): waiting writers go in, in order, while they fit. */
  #wake(): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0] as Waiter
      if (this.#closed !== undefined) {
        for (const w of this.#waiters.splice(0)) w.reject(new CacheClosedError(this.name, this.#closed))
        return
      }
      if (!this.#store(waiter.key, waiter.value as V, waiter.encoded)) return
      this.#waiters.shift()
      waiter.resolve()
    }
  }

  /**
   * A writer found the cache full: flush now, whatever the interval, and — while someone waits for room
   * and the sink keeps failing — again, with backoff.
   */
  #relieve(): void {
    if (this.#relieving || this.#flushing || this.#closed !== undefined) return
    this.#relieving = true
    void (async () => {
      let delay = this.#options.retryDelayMs
      try {
        for (;;) {
          await this.#running?.catch(() => {})
          await this.#backgroundFlush()
          if (this.#waiters.length === 0 || this.#flushing || this.#closed !== undefined) return
          await sleep(delay, { clock: this.#clock, signal: this.#background.signal })
          delay = Math.min(delay * 2, this.#options.maxRetryDelayMs)
        }
      } finally {
        this.#relieving = false
      }
    })()
  }

  async #backgroundFlush(): Promise<void> {
    if (this.#running || this.#dirty.size === 0 || this.#flushing || this.#closed !== undefined) return
    try {
      await this.#exclusive(() => this.#pass(this.#background.signal, { retry: false }))
    } catch {
      // Failures are counted and logged in #pass; the entries stay dirty for the next round.
    }
  }

  async #shutdownFlush(signal: AbortSignal, context: TaskContext): Promise<void> {
    this.#flushing = true
    clearInterval(this.#timer)
    // A background write — or an application's flush() — stuck on a slow sink must not hold the shutdown
    // flush. Their writes may still land; #pass holds those keys back until they settle.
    this.#background.abort()
    this.#interrupt.abort()
    await this.#running?.catch(() => {})
    const stopAt = context.stopAt()
    const flushedBefore = this.#flushed
    await this.#exclusive(() => this.#pass(signal, { retry: true, stopAt }))
    // Given up on by the coordinator meanwhile (timeout): what was left has been handed over already.
    if (this.#handedOver) return
    const flushed = this.#flushed - flushedBefore
    const left = this.#dirty.size
    if (left === 0) {
      // Clean: from here on a write could never reach the sink, so it is refused instead of lost.
      this.#close('has been flushed for shutdown')
      this.#shutdown.logger.info(
        { event: 'cache.flushed', cache: this.name, flushed, failedWrites: this.#failedWrites },
        `${this.name}: flushed ${flushed} entries`,
      )
      return
    }
    const error = new CacheFlushIncompleteError(this.name, flushed, left, {
      cause: this.#lastError,
      refused: this.#failing.size,
    })
    this.#handOver(error, 'could not write every entry within its shutdown budget')
    throw error
  }

  #close(why: string): void {
    if (this.#closed !== undefined) return
    this.#closed = why
    clearInterval(this.#timer)
    this.#background.abort()
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new CacheClosedError(this.name, why))
  }

  /**
   * The end of the line for what is still unwritten: every dirty entry goes to `onUnflushed` (once, with
   * the sink's own error for an entry it refused, else `reason`), and the cache accepts no more writes.
   */
  #handOver(reason: Error, why: string): void {
    if (this.#handedOver) return
    this.#handedOver = true
    this.#close(`${why}, and what it had not written went to onUnflushed`)
    const entries: UnflushedEntry[] = []
    let refused = 0
    for (const entry of this.#dirty.values()) {
      const failure = this.#failing.get(entry.key)
      if (failure?.entry === entry) refused++
      entries.push({
        key: entry.key,
        value: entry.value,
        error: failure?.entry === entry ? asError(failure.error) : reason,
      })
    }
    this.#dirty.clear()
    this.#failing.clear()
    if (entries.length === 0) return
    const { onUnflushed } = this.#options
    this.#shutdown.logger.error(
      { event: 'cache.unflushed', cache: this.name, entries: entries.length, refused, reason: reason.message },
      onUnflushed
        ? `${this.name}: ${entries.length} entries not written; handed to onUnflushed`
        : `${this.name}: ${entries.length} entries not written and lost (no onUnflushed)`,
    )
    if (!onUnflushed) return
    try {
      onUnflushed(entries)
    } catch (error) {
      this.#shutdown.logger.error(
        { event: 'cache.onUnflushed.failed', cache: this.name, error: String(error) },
        `${this.name}: onUnflushed threw; ${entries.length} entries lost`,
      )
    }
  }

  #exclusive(fn: () => Promise<FlushResult>): Promise<FlushResult> {
    const run = (async () => {
      await this.#running?.catch(() => {})
      return fn()
    })()
    this.#running = run
    void run.finally(() => {
      if (this.#running === run) this.#running = undefined
    })
    return run
  }

  /**
   * Writes dirty entries until none is left, the signal aborts or `stopAt` passes; retries when asked.
   * Each sweep walks the dirty map once, `concurrency` writers taking the next batch as soon as their
   * last one settles; entries the sink refused alone go first, together, when their backoff is over. A
   * batch the sink rejects is split until what fails is one entry (see #send). A key is never written
   * twice at once: the map holds it once per sweep, a sweep starts only when the last one's writes have
   * all settled, and a key whose older write is still in flight (one a cut-short flush stopped waiting
   * for) is held back until that write settles.
   */
  async #pass(signal: AbortSignal, options: { retry: boolean; stopAt?: number }): Promise<FlushResult> {
    let flushed = 0
    let delay = this.#options.retryDelayMs
    const clock = this.#clock
    const stopAt = options.stopAt ?? Number.POSITIVE_INFINITY
    const timeLeft = () => stopAt - clock.now()
    // Every flush but the shutdown's own (the one that retries) stops when the shutdown flush starts; the
    // shutdown's stops at stopAt, on the coordinator's clock, with time left to report what it did.
    const linked = linkSignals(options.retry ? [signal] : [signal, this.#interrupt.signal], { until: stopAt, clock })
    const stop = linked.signal
    // Each batch in flight listens to it, and so may each sink write.
    setMaxListeners(2 * this.#options.concurrency + 4, stop)
    const cap = Math.ceil(Math.log2(this.#options.maxBatch)) + this.#options.concurrency + 1
    try {
      while (this.#dirty.size > 0 && !stop.aborted && timeLeft() > 0) {
        const sweep = this.#dirty.values()
        const retries = this.#dueRetries()
        const state: Sweep = { successes: 0, failures: 0, cap, sinkDown: false, logged: false }
        let taken = 0
        const writer = async () => {
          for (;;) {
            if (state.sinkDown || stop.aborted) return
            const retrying = retries.length > 0
            const batch = retrying ? retries.splice(0, this.#options.maxBatch) : this.#takeBatch(sweep)
            if (batch.length === 0) return
            taken += batch.length
            const written = await this.#send(batch, stop, state, !retrying)
            flushed += written
          }
        }
        await Promise.all(Array.from({ length: this.#options.concurrency }, writer))
        this.#warnFailing()
        if (state.sinkDown) {
          if (!options.retry) break
          await sleep(Math.min(delay, timeLeft()), { clock, signal: stop })
          delay = Math.min(delay * 2, this.#options.maxRetryDelayMs)
        } else if (taken === 0) {
          // Everything left waits: for its own retry (the sink refused it alone), or for writes an earlier
          // flush stopped waiting for (a background flush cut short by the shutdown). Those get up to half
          // the time left to land or fail; one that still has not settled is presumed lost with its
          // connection, and its keys are written again.
          if (!options.retry) break
          const now = clock.now()
          const retryAt = this.#nextRetryAt()
          if (this.#inFlight.size === 0) {
            if (retryAt === Number.POSITIVE_INFINITY) break
            await sleep(Math.min(retryAt, stopAt) - now, { clock, signal: stop })
            continue
          }
          const lostAt = now + Math.max(0, stopAt - now) / 2
          const settled = await settleBy(Promise.allSettled([...this.#inFlight]), Math.min(lostAt, retryAt), {
            clock,
            signal: stop,
          })
          if (!settled.done && lostAt <= retryAt) this.#forgetInFlight()
        }
      }
    } finally {
      linked.dispose()
    }
    return { flushed, left: this.#dirty.size, failing: this.#failing.size }
  }

  /**
   * Writes the batch; returns how many entries were written. A batch the sink rejects is split in two and
   * each half written (and split again if it fails), so that one entry the sink cannot take — a value
   * over a size limit, text a jsonb column refuses — does not hold back the others: at most ~2·log2(n)
   * more writes per such entry. What fails alone is marked failing and retried with its own backoff.
   * When writes keep failing with not one success in the sweep, the sink itself is failing (down, or
   * refusing everything): splitting stops there, and the sweep backs off as a whole.
   */
  async #send(batch: Dirty[], signal: AbortSignal, state: Sweep, log: boolean): Promise<number> {
    try {
      // A sink that ignores its signal must not hold the flush past the budget.
      await abortable(this.#write(batch, signal), signal)
      state.successes++
      return batch.length
    } catch (error) {
      if (signal.aborted && error === signal.reason) return 0
      this.#failedWrites++
      this.#lastError = error
      state.failures++
      if (log && !state.logged) {
        state.logged = true
        this.#shutdown.logger.warn(
          { event: 'cache.write.failed', cache: this.name, entries: batch.length, error: String(error) },
          `${this.name}: sink write failed; the entries stay dirty and will be retried${batch.length > 1 ? ' (the batch is split to find what the sink refuses)' : ''}`,
        )
      }
      if (batch.length === 1) {
        this.#markFailing(batch[0] as Dirty, error)
        return 0
      }
      if (state.successes === 0 && state.failures > state.cap) {
        state.sinkDown = true
        return 0
      }
      const middle = Math.ceil(batch.length / 2)
      let written = 0
      for (const half of [batch.slice(0, middle), batch.slice(middle)]) {
        if (state.sinkDown || signal.aborted) break
        // Only records still current: one replaced meanwhile (set again) would write an older value.
        const current = half.filter((entry) => this.#dirty.get(entry.key) === entry && entry.write === undefined)
        if (current.length > 0) {
          const n = await this.#send(current, signal, state, false)
          written += n
        }
      }
      return written
    }
  }

  #markFailing(entry: Dirty, error: unknown): void {
    if (this.#dirty.get(entry.key) !== entry) return
    const previous = this.#failing.get(entry.key)
    const attempts = previous?.entry === entry ? previous.attempts + 1 : 1
    const delay = Math.min(this.#options.retryDelayMs * 2 ** (attempts - 1), this.#options.maxRetryDelayMs)
    this.#failing.set(entry.key, { entry, error, attempts, retryAt: this.#clock.now() + delay })
  }

  /** Failing entries whose backoff is over, current and not in flight. */
  #dueRetries(): Dirty[] {
    if (this.#failing.size === 0) return []
    const now = this.#clock.now()
    const due: Dirty[] = []
    for (const { entry, retryAt } of this.#failing.values()) {
      if (retryAt > now || entry.write || this.#dirty.get(entry.key) !== entry) continue
      if (this.#held.size > 0 && this.#held.has(entry.key)) continue
      due.push(entry)
    }
    return due
  }

  #nextRetryAt(): number {
    let next = Number.POSITIVE_INFINITY
    for (const { retryAt } of this.#failing.values()) if (retryAt < next) next = retryAt
    return next
  }

  /** Says — once per rise, naming how many, never which values — that the sink refuses some entries. */
  #warnFailing(): void {
    const count = this.#failing.size
    if (count === 0) {
      this.#warnedFailing = 0
      return
    }
    if (count <= this.#warnedFailing) return
    this.#warnedFailing = count
    const error = errorLabel(this.#lastError)
    this.#shutdown.warn({
      code: 'LAMEDUCK_WARN_CACHE_ENTRIES_FAILING',
      message:
        `cache "${this.name}": the sink refuses ${count} ${count === 1 ? 'entry' : 'entries'} even written alone ` +
        `(${error}); the others are written, these stay dirty and are retried with backoff — ` +
        'at shutdown, what is still refused goes to onUnflushed',
      details: { cache: this.name, entries: count, error },
    })
  }

  /** The next batch of the sweep: up to `maxBatch` entries, skipping those in flight or failing. */
  #takeBatch(sweep: IterableIterator<Dirty>): Dirty[] {
    const batch: Dirty[] = []
    const held = this.#held.size > 0
    const failing = this.#failing.size > 0
    while (batch.length < this.#options.maxBatch) {
      const next = sweep.next()
      if (next.done) break
      const entry = next.value
      if (entry.write || (held && this.#held.has(entry.key)) || (failing && this.#failing.has(entry.key))) continue
      batch.push(entry)
    }
    return batch
  }

  /**
   * Hands the batch to the sink. Whenever the write succeeds — even after the flush that started it has
   * stopped waiting — its entries are clean unless set again meanwhile; whenever it settles, the keys it
   * held back are free.
   */
  #write(batch: Dirty[], signal: AbortSignal): Promise<void> {
    let sent: Promise<void>
    try {
      sent = Promise.resolve(this.#sink.write(batch, signal))
    } catch (error) {
      sent = Promise.reject(error)
    }
    const settle = () => {
      this.#inFlight.delete(write)
      for (const entry of batch) {
        if (entry.write === write) entry.write = undefined
        if (this.#held.size > 0 && this.#held.get(entry.key) === write) this.#held.delete(entry.key)
      }
    }
    const write: Promise<void> = sent.then(
      () => {
        const retain = this.#options.retainClean
        const failing = this.#failing.size > 0
        for (const entry of batch) {
          if (this.#dirty.get(entry.key) !== entry) continue
          this.#dirty.delete(entry.key)
          if (failing) this.#failing.delete(entry.key)
          if (retain) {
            entry.clean = true
            this.#cleanCount++
          } else {
            this.#entries.delete(entry.key)
            this.#bytes -= entry.size
          }
        }
        this.#flushed += batch.length
        settle()
        if (this.#waiters.length > 0) this.#wake()
      },
      (error: unknown) => {
        settle()
        throw error
      },
    )
    this.#inFlight.add(write)
    for (const entry of batch) entry.write = write
    return write
  }

  /** Stops holding anything back for the writes in flight: they are presumed never to land. */
  #forgetInFlight(): void {
    this.#held.clear()
    for (const entry of this.#dirty.values()) entry.write = undefined
    // Unobserved from here on; their failures must not surface as unhandled rejections.
    for (const write of this.#inFlight) write.catch(() => {})
    this.#inFlight.clear()
  }
}

function abandonedWhy(event: AbandonEvent): string {
  if (event.outcome === 'skipped') return 'had its shutdown flush skipped (no time was left for it)'
  if (event.outcome === 'timeout') return 'ran out of time in its shutdown flush'
  return 'was still flushing when the process exited'
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/** The kind of an error, never its message (which may quote a value). */
function errorLabel(error: unknown): string {
  if (!(error instanceof Error)) return typeof error
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' || typeof code === 'number' ? `${error.name} ${code}` : error.name
}
