import { setMaxListeners } from 'node:events'
import { abortable, InvalidOptionError, type Shutdown, type TaskContext } from '@lameduck/core'
import { CACHE_DEFAULTS } from './defaults.js'
import { encode } from './encode.js'
import { CacheClosedError, CacheFlushIncompleteError } from './errors.js'
import type { Sink, SinkEntry } from './sink.js'

export interface WriteBehindOptions {
  /** Where dirty entries go. */
  sink: Sink
  /** Name in logs and of the shutdown task. Default: `write-behind` (`write-behind-2`, …). */
  name?: string
  /** Background flush interval in ms; 0: only flush at shutdown (and on `flush()`). Default: 1000. */
  flushIntervalMs?: number
  /** Entries per `sink.write`. Default: 1000. */
  maxBatch?: number
  /** Batches written at the same time. Default: 4. */
  concurrency?: number
  /** Budget of the shutdown flush. Default: 5000. */
  timeoutMs?: number
  /** Whether entries left unwritten make the exit code non-zero. Default: `true`. */
  critical?: boolean
  /** First delay before retrying a failed write; doubles up to 1 s. Default: 50. */
  retryDelayMs?: number
  /** Last resort for what could not be written before the deadline (e.g. append it to a file). */
  onUnflushed?: (entries: SinkEntry[]) => void
}

export interface FlushResult {
  /** Entries written by this flush. */
  flushed: number
  /** Dirty entries still unwritten. */
  left: number
}

export interface WriteBehindStats {
  size: number
  dirty: number
  /** Entries written since creation. */
  flushed: number
  /** Failed `sink.write` calls since creation (each retried). */
  failedWrites: number
}

/** An in-memory cache whose writes reach the sink later, in batches — and for certain at shutdown. */
export interface WriteBehindCache<V = unknown> {
  readonly name: string
  /** Stores the value and marks it dirty. Throws `CacheClosedError` once the shutdown flush is done. */
  set(key: string, value: V): void
  get(key: string): V | undefined
  has(key: string): boolean
  /** Forgets the key; a pending write of it is dropped (nothing is deleted in the sink). */
  delete(key: string): boolean
  readonly size: number
  /** Entries not yet written to the sink. */
  readonly dirty: number
  /** Writes every dirty entry now (one pass; failures stay dirty). */
  flush(signal?: AbortSignal): Promise<FlushResult>
  stats(): WriteBehindStats
  /** Stops the background flushes and unregisters the shutdown task; dirty entries stay in memory. */
  dispose(): void
}

const names = new WeakMap<Shutdown, number>()

/**
 * Creates a write-behind cache whose dirty entries are written to `sink` in the background and by a
 * `flush`-phase task at shutdown — retried within the budget, looping until clean, so writes made during
 * the flush are written too. Values: strings as they are, anything else as JSON.
 */
export function createWriteBehind<V = unknown>(shutdown: Shutdown, options: WriteBehindOptions): WriteBehindCache<V> {
  if (!options || typeof options.sink?.write !== 'function')
    throw new InvalidOptionError('sink', 'expected an object with a write(batch, signal) method')
  const count = (names.get(shutdown) ?? 0) + 1
  names.set(shutdown, count)
  return new WriteBehind<V>(shutdown, options, options.name ?? (count === 1 ? 'write-behind' : `write-behind-${count}`))
}

/**
 * A dirty entry. Batches hand these records to the sink as they are (no copy per entry); a write removes
 * an entry only if its record is still the one in the map, so a newer value set meanwhile stays dirty.
 */
interface Dirty extends SinkEntry {
  /** The write carrying this record while it is in flight — even one a flush stopped waiting for. */
  write: Promise<void> | undefined
}

class WriteBehind<V> implements WriteBehindCache<V> {
  readonly #values = new Map<string, V>()
  readonly #dirty = new Map<string, Dirty>()
  readonly #sink: Sink
  readonly #maxBatch: number
  readonly #concurrency: number
  readonly #retryDelayMs: number
  readonly #timer: NodeJS.Timeout | undefined
  readonly #removeTask: () => void
  readonly #shutdown: Shutdown
  #closed = false
  #flushed = 0
  #failedWrites = 0
  #running: Promise<FlushResult> | undefined
  /**
   * Keys set again (or deleted and set again) while a write of an older value is in flight, each with
   * that write: not written until it settles, so the older value cannot land after the newer one.
   */
  readonly #held = new Map<string, Promise<void>>()
  /** Every sink write in flight, including writes a flush stopped waiting for (they may still land). */
  readonly #inFlight = new Set<Promise<void>>()
  #background = new AbortController()
  /** Aborted when the shutdown flush starts: any other flush still running — or started later — stops. */
  readonly #interrupt = new AbortController()

  constructor(
    shutdown: Shutdown,
    readonly options: WriteBehindOptions,
    readonly name: string,
  ) {
    this.#shutdown = shutdown
    this.#sink = options.sink
    this.#maxBatch = positiveInteger('maxBatch', options.maxBatch ?? CACHE_DEFAULTS.maxBatch)
    this.#concurrency = positiveInteger('concurrency', options.concurrency ?? CACHE_DEFAULTS.concurrency)
    this.#retryDelayMs = duration('retryDelayMs', options.retryDelayMs ?? CACHE_DEFAULTS.retryDelayMs)
    const interval = duration('flushIntervalMs', options.flushIntervalMs ?? CACHE_DEFAULTS.flushIntervalMs)
    if (options.onUnflushed !== undefined && typeof options.onUnflushed !== 'function')
      throw new InvalidOptionError('onUnflushed', 'expected a function')
    this.#removeTask = shutdown.addTask({
      name,
      phase: 'flush',
      timeoutMs: options.timeoutMs ?? CACHE_DEFAULTS.timeoutMs,
      critical: options.critical ?? true,
      run: (signal, context) => this.#shutdownFlush(signal, context),
    })
    if (interval > 0) {
      this.#timer = setInterval(() => void this.#backgroundFlush(), interval)
      this.#timer.unref()
    }
  }

  set(key: string, value: V): void {
    if (this.#closed) throw new CacheClosedError(this.name)
    const encoded = encode(key, value)
    this.#values.set(key, value)
    const older = this.#dirty.get(key)?.write
    if (older) this.#held.set(key, older)
    this.#dirty.set(key, { key, value: encoded, write: undefined })
  }

  get(key: string): V | undefined {
    return this.#values.get(key)
  }

  has(key: string): boolean {
    return this.#values.has(key)
  }

  delete(key: string): boolean {
    // Set again, the key would go to the end of the map, where the sweep in progress could write it while
    // the old value's write is still in flight — and the two could land in either order.
    const older = this.#dirty.get(key)?.write
    if (older) this.#held.set(key, older)
    this.#dirty.delete(key)
    return this.#values.delete(key)
  }

  get size(): number {
    return this.#values.size
  }

  get dirty(): number {
    return this.#dirty.size
  }

  stats(): WriteBehindStats {
    return { size: this.size, dirty: this.dirty, flushed: this.#flushed, failedWrites: this.#failedWrites }
  }

  flush(signal: AbortSignal = new AbortController().signal): Promise<FlushResult> {
    return this.#exclusive(() => this.#pass(signal, { retry: false }))
  }

  dispose(): void {
    clearInterval(this.#timer)
    this.#background.abort()
    this.#removeTask()
  }

  async #backgroundFlush(): Promise<void> {
    if (this.#running || this.#dirty.size === 0 || this.#closed) return
    try {
      await this.#exclusive(() => this.#pass(this.#background.signal, { retry: false }))
    } catch {
      // Failures are counted and logged in #pass; the entries stay dirty for the next round.
    }
  }

  async #shutdownFlush(signal: AbortSignal, context: TaskContext): Promise<void> {
    clearInterval(this.#timer)
    // A background write — or an application's flush() — stuck on a slow sink must not hold the shutdown
    // flush. Their writes may still land; #pass holds those keys back until they settle.
    this.#background.abort()
    this.#interrupt.abort()
    await this.#running?.catch(() => {})
    const stopAt = context.stopAt()
    const flushedBefore = this.#flushed
    let lastError: unknown
    await this.#exclusive(async () => {
      const result = await this.#pass(signal, { retry: true, stopAt, onError: (e) => (lastError = e) })
      // Clean: from here on a write could never reach the sink, so it is refused instead of lost.
      if (result.left === 0) this.#closed = true
      return result
    })
    this.#closed = true
    const flushed = this.#flushed - flushedBefore
    const left = this.#dirty.size
    if (left > 0) {
      if (this.options.onUnflushed) {
        try {
          this.options.onUnflushed([...this.#dirty.values()].map(({ key, value }) => ({ key, value })))
        } catch {
          // The last resort failing must not hide the report below.
        }
      }
      throw new CacheFlushIncompleteError(this.name, flushed, left, { cause: lastError })
    }
    this.#shutdown.logger.info(
      { event: 'cache.flushed', cache: this.name, flushed, failedWrites: this.#failedWrites },
      `${this.name}: flushed ${flushed} entries`,
    )
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
   * last one settles. A key is never written twice at once: the map holds it once per sweep, a sweep
   * starts only when the last one's writes have all settled, and a key whose older write is still in
   * flight (one a cut-short flush stopped waiting for) is held back until that write settles.
   */
  async #pass(
    signal: AbortSignal,
    options: { retry: boolean; stopAt?: number; onError?: (error: unknown) => void },
  ): Promise<FlushResult> {
    let flushed = 0
    let delay = this.#retryDelayMs
    const timeLeft = () => (options.stopAt === undefined ? Number.POSITIVE_INFINITY : options.stopAt - Date.now())
    const controller = new AbortController()
    // Each batch in flight listens to it, and so may each sink write.
    setMaxListeners(2 * this.#concurrency + 2, controller.signal)
    // Every flush but the shutdown's own (the one that retries) stops when the shutdown flush starts.
    const sources = options.retry ? [signal] : [signal, this.#interrupt.signal]
    const onAbort = () => controller.abort(sources.find((source) => source.aborted)?.reason)
    for (const source of sources) {
      if (source.aborted) controller.abort(source.reason)
      else source.addEventListener('abort', onAbort, { once: true })
    }
    const timer =
      options.stopAt === undefined ? undefined : setTimeout(() => controller.abort(signal.reason), timeLeft())
    try {
      while (this.#dirty.size > 0 && !controller.signal.aborted && timeLeft() > 0) {
        const sweep = this.#dirty.values()
        let failed = false
        let taken = 0
        const writer = async () => {
          for (;;) {
            if (failed || controller.signal.aborted) return
            const batch = this.#takeBatch(sweep)
            if (batch.length === 0) return
            taken += batch.length
            try {
              // A sink that ignores its signal must not hold the flush past the budget.
              await abortable(this.#write(batch, controller.signal), controller.signal)
              flushed += batch.length
            } catch (error) {
              failed = true
              this.#failedWrites++
              options.onError?.(error)
              this.#shutdown.logger.warn(
                { event: 'cache.write.failed', cache: this.name, entries: batch.length, error: String(error) },
                `${this.name}: sink write failed; the entries stay dirty and will be retried`,
              )
            }
          }
        }
        await Promise.all(Array.from({ length: this.#concurrency }, writer))
        if (failed) {
          if (!options.retry) break
          await sleep(Math.min(delay, Math.max(0, timeLeft())), controller.signal)
          delay = Math.min(delay * 2, CACHE_DEFAULTS.maxRetryDelayMs)
        } else if (taken === 0) {
          // Everything left waits for writes an earlier flush stopped waiting for (a background flush cut
          // short by the shutdown). Give them up to half the time left to land or fail; a write that
          // still has not settled is presumed lost with its connection, and its keys are written again.
          if (!options.retry || this.#inFlight.size === 0) break
          const settled = await Promise.race([
            Promise.allSettled([...this.#inFlight]).then(() => true),
            sleep(Math.max(0, timeLeft()) / 2, controller.signal).then(() => false),
          ])
          if (!settled) this.#forgetInFlight()
        }
      }
    } finally {
      clearTimeout(timer)
      for (const source of sources) source.removeEventListener('abort', onAbort)
    }
    return { flushed, left: this.#dirty.size }
  }

  /** The next batch of the sweep: up to `maxBatch` entries, skipping those behind a write in flight. */
  #takeBatch(sweep: IterableIterator<Dirty>): Dirty[] {
    const batch: Dirty[] = []
    while (batch.length < this.#maxBatch) {
      const next = sweep.next()
      if (next.done) break
      const entry = next.value
      if (entry.write || (this.#held.size > 0 && this.#held.has(entry.key))) continue
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
        for (const entry of batch) if (this.#dirty.get(entry.key) === entry) this.#dirty.delete(entry.key)
        this.#flushed += batch.length
        settle()
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidOptionError(option, `expected a positive integer, got ${value}`)
  return value
}

function duration(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidOptionError(option, `expected a duration in ms, got ${String(value)}`)
  return value
}
