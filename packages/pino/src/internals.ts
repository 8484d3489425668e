// Every private field of pino, thread-stream and sonic-boom that @lameduck/pino reads or writes, in this one
// file, each with feature detection; what is not recognised falls back to the public `flush(cb)`.
//
// Why internals at all (measured with pino 9.14 / thread-stream 3.2 and pino 10.4 / thread-stream 4.2):
// - thread-stream 3's `flush(cb)` waits only for what has reached the shared buffer: right after 10,000
//   `logger.info()` calls it called back in 8 ms with 0 lines in the file (its own `// TODO write all .buf`,
//   https://github.com/pinojs/thread-stream/issues/56). thread-stream 4 (#198) drains the buffer and asks the
//   worker to flush its destination, but the worker's flush does not reach pino's `targets` (a
//   pino-abstract-transport stream without `flush`): 134 of 10,000 lines were in the files when it called back.
// - sonic-boom's `flush(cb)` calls back at once when `minLength` is 0 (pino.destination's and pino/file's
//   default), even with a write in flight.
// - A flush callback can be swallowed on an idle event loop (https://github.com/pinojs/pino/issues/2481): we
//   never depend on one; we poll on the coordinator's clock, whose timer keeps the loop alive.
// So we look at the buffers themselves, and close the transport through thread-stream's own end protocol
// (what its blocking `end()` does, without the blocking wait), which makes its worker end every destination:
// a destination that has closed has written everything.

/** Where the logger's destination is held: the object that owns pino's stream symbol, and the symbol. */
export interface PinoStreamSlot {
  owner: Record<PropertyKey, unknown>
  key: symbol
  stream: unknown
}

/**
 * pino keeps its destination under `Symbol('pino.stream')` (not `Symbol.for`): on the root logger, inherited
 * by children through the prototype chain. `undefined` when `logger` is not a pino logger.
 */
export function pinoStreamSlot(logger: unknown): PinoStreamSlot | undefined {
  if (logger === null || typeof logger !== 'object') return undefined
  for (let o: object | null = logger; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertySymbols(o)) {
      if (key.description !== 'pino.stream') continue
      const stream = (o as Record<symbol, unknown>)[key]
      if (stream === null || typeof stream !== 'object') return undefined
      return { owner: o as Record<PropertyKey, unknown>, key, stream }
    }
  }
  return undefined
}

export interface ThreadStreamLike {
  worker: { terminate(): Promise<number> }
  flush(cb?: (error?: Error | null) => void): void
  flushSync(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
  readonly closed?: boolean
  readonly destroyed?: boolean
}

/** thread-stream's private state (`this[kImpl]`), in both its 3.x and 4.x shapes. */
export interface ThreadStreamImpl {
  state: Int32Array
  /** 3.x: the not yet copied text, a string; 4.x: an array of Buffers, with `bufLen`. */
  buf: string | unknown[]
  bufLen?: number
  flushing: boolean
  ending: boolean
  ended: boolean
  destroyed: boolean
}

// thread-stream's lib/indexes.js, the same in 3.x and 4.x: the shared state array's slots.
const SEQ_INDEX = 2
const WRITE_INDEX = 4
const READ_INDEX = 8

export type Destination =
  | { kind: 'thread-stream'; stream: ThreadStreamLike; impl: ThreadStreamImpl | undefined }
  | { kind: 'sonic-boom'; stream: SonicBoomLike }
  | { kind: 'writable'; stream: WritableLike }
  | { kind: 'other'; stream: { flush?: unknown } }

export interface SonicBoomLike {
  flush(cb?: (error?: Error | null) => void): void
  flushSync(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
  readonly fd: number
  readonly destroyed?: boolean
  readonly minLength: number
  readonly sync?: boolean
  readonly _writing?: boolean
  readonly _len?: number
  readonly _opening?: boolean
}

export interface WritableLike {
  readonly writableLength: number
  readonly destroyed?: boolean
  on(event: string, listener: (...args: unknown[]) => void): unknown
}

const isFunction = (v: unknown): v is (...args: unknown[]) => unknown => typeof v === 'function'

/** `pino.multistream(…)`: its `streams` entries (`{ stream, level, id }`), which its `write` reads at each line. */
function multistreamEntries(stream: unknown): { stream?: unknown }[] | undefined {
  if (stream === null || typeof stream !== 'object') return undefined
  const s = stream as Record<string, unknown>
  return Array.isArray(s.streams) && isFunction(s.add) && isFunction(s.flushSync)
    ? (s.streams as { stream?: unknown }[])
    : undefined
}

/** The destinations behind a pino stream: a multistream's (`pino.multistream`) are each of its streams. */
export function destinationsOf(stream: unknown, seen = new Set<unknown>()): Destination[] {
  if (stream === null || typeof stream !== 'object' || seen.has(stream)) return []
  seen.add(stream)
  const s = stream as Record<string, unknown>
  const entries = multistreamEntries(stream)
  if (entries !== undefined) return entries.flatMap((entry) => destinationsOf(entry?.stream, seen))
  const worker = s.worker as { terminate?: unknown } | undefined
  if (isFunction(s.flushSync) && isFunction(s.flush) && worker && isFunction(worker.terminate))
    return [{ kind: 'thread-stream', stream: stream as ThreadStreamLike, impl: threadStreamImpl(stream) }]
  if (isFunction(s.flushSync) && typeof s.minLength === 'number' && typeof s.fd === 'number')
    return [{ kind: 'sonic-boom', stream: stream as SonicBoomLike }]
  if (typeof s.writableLength === 'number' && isFunction(s.on))
    return [{ kind: 'writable', stream: stream as WritableLike }]
  return [{ kind: 'other', stream: stream as { flush?: unknown } }]
}

function threadStreamImpl(stream: object): ThreadStreamImpl | undefined {
  for (const key of Object.getOwnPropertySymbols(stream)) {
    if (key.description !== 'kImpl') continue
    const impl = (stream as Record<symbol, unknown>)[key] as Partial<ThreadStreamImpl> | undefined
    if (
      impl &&
      impl.state instanceof Int32Array &&
      impl.state.length > READ_INDEX &&
      (typeof impl.buf === 'string' || Array.isArray(impl.buf)) &&
      typeof impl.flushing === 'boolean' &&
      typeof impl.ending === 'boolean'
    )
      return impl as ThreadStreamImpl
  }
  return undefined
}

/** Bytes (4.x) or characters (3.x) logged but not yet copied to the shared buffer the worker reads. */
export function pendingInMain(impl: ThreadStreamImpl): number {
  return typeof impl.bufLen === 'number' ? impl.bufLen : impl.buf.length
}

/** Bytes in the shared buffer the worker has not yet handed to its destination. */
export function pendingInShared(impl: ThreadStreamImpl): number {
  const read = Atomics.load(impl.state, READ_INDEX)
  const write = Atomics.load(impl.state, WRITE_INDEX)
  return read < 0 || write < 0 ? 0 : Math.max(0, write - read)
}

/** Whether the worker has handed everything logged so far to its destination. */
export function handedOver(impl: ThreadStreamImpl): boolean {
  return !impl.flushing && pendingInMain(impl) === 0 && pendingInShared(impl) === 0
}

/** The worker's destination emitted an error (thread-stream writes -2), or the stream is destroyed. */
export function failed(impl: ThreadStreamImpl | undefined, stream: ThreadStreamLike): boolean {
  if (stream.destroyed === true) return true
  return impl !== undefined && Atomics.load(impl.state, READ_INDEX) === -2
}

/**
 * The transport was ended before the flush (the application's `end()`): `true` once it has ended cleanly —
 * its destination closed, or its worker gone without an error (`writableErrored`, thread-stream 3 and 4);
 * `false` while it is still ending; `undefined` when it was not ended, or ended with an error.
 */
export function endedBefore(impl: ThreadStreamImpl | undefined, stream: ThreadStreamLike): boolean | undefined {
  if (impl === undefined || impl.ending !== true) return undefined
  const errored = (stream as { writableErrored?: unknown }).writableErrored
  if ((errored !== null && errored !== undefined) || Atomics.load(impl.state, READ_INDEX) === -2) return undefined
  return destinationClosed(impl) || stream.closed === true
}

/** The worker's destination has closed (thread-stream's worker writes -1 to the read index at 'close'). */
export function destinationClosed(impl: ThreadStreamImpl): boolean {
  return Atomics.load(impl.state, READ_INDEX) === -1 && Atomics.load(impl.state, WRITE_INDEX) === -1
}

/**
 * Ends the transport the way thread-stream's `end()` does — `-1` as the write index, under the sequence
 * lock its worker reads — without its blocking wait (`Atomics.wait`, up to 10 s). `ending`/`ended` make its
 * own `end()` (pino's exit hook) a no-op. Only once everything was handed over (the main buffer is empty).
 */
export function beginEnd(impl: ThreadStreamImpl): boolean {
  if (impl.ending || impl.destroyed || !handedOver(impl)) return false
  impl.ending = true
  impl.ended = true
  Atomics.add(impl.state, SEQ_INDEX, 1)
  Atomics.store(impl.state, WRITE_INDEX, -1)
  Atomics.add(impl.state, SEQ_INDEX, 1)
  Atomics.notify(impl.state, SEQ_INDEX)
  Atomics.notify(impl.state, WRITE_INDEX)
  return true
}

/** Where a thread-stream's unwritten lines are, for a timeout's message. */
export function describeThreadStream(impl: ThreadStreamImpl | undefined): string {
  if (!impl) return 'the transport did not call back'
  const main = pendingInMain(impl)
  const shared = pendingInShared(impl)
  if (impl.ending && main === 0 && shared === 0) return "the worker's destination did not close (it still held lines)"
  return `${main} byte(s) still in the main thread's buffer, ${shared} in the worker's`
}

/** Whether a main-thread sonic-boom has written everything (`undefined`: its internals are not known). */
export function sonicBoomIdle(s: SonicBoomLike): boolean | undefined {
  if (typeof s._writing !== 'boolean' || typeof s._len !== 'number') return undefined
  return s.fd >= 0 && s._opening !== true && !s._writing && s._len === 0
}

/**
 * Puts `replacement()` in the place of each stream of `gone` among a multistream's entries (nested ones
 * included): its `write` then writes there instead of to a closed transport (whose `write` emits an
 * 'error' and drops the line). Returns how many entries were replaced; 0 for what is not a multistream.
 */
export function replaceInMultistreams(
  stream: unknown,
  gone: ReadonlySet<unknown>,
  replacement: () => unknown,
  seen = new Set<unknown>(),
): number {
  const entries = multistreamEntries(stream)
  if (entries === undefined || seen.has(stream)) return 0
  seen.add(stream)
  let replaced = 0
  for (const entry of entries) {
    if (entry === null || typeof entry !== 'object') continue
    if (gone.has(entry.stream)) {
      entry.stream = replacement()
      replaced++
    } else replaced += replaceInMultistreams(entry.stream, gone, replacement, seen)
  }
  return replaced
}
