import type { LeaseClient } from 'etcd3'
import type { KeepAliveStream } from './client.js'
import { ETCD_DEFAULTS } from './defaults.js'
import type { LeaseLostReason } from './errors.js'

// The keep-alive of one lease, on etcd's raw `LeaseKeepAlive` stream rather than etcd3's `Lease` class.
//
// Why not etcd3's: its `Lease` stops its keep-alive with `stream.end()`, a half-close that waits for the
// server's status. Against an etcd that is hung (its process stopped, a partition that drops packets, measured
// with SIGSTOP) that status never comes: the call stays open, `client.close()` leaves its HTTP/2 session and
// socket behind, and the process never exits by itself; `lease.revoke()` without a deadline never settles
// either. `stream.cancel()` ends the call locally at once (RST_STREAM), hung server or not: then the process
// exits once the client is closed. The raw stream also tells us what etcd's `Lease` hides: when each
// keep-alive was answered, so that the lease's expiry is known.
//
// The timers here follow the lease's TTL, which runs on etcd's wall clock, not the coordinator's: they are
// no budget decision, and a test clock given to the coordinator must not move them. Every budget decision
// (how long `lock` waits, when the release task stops) is taken on the coordinator's clock.

export interface KeepAliveOptions {
  /** The raw lease RPCs of the client. */
  leaseClient: LeaseClient
  id: string
  /** The TTL etcd granted, in seconds. */
  ttlSeconds: number
  /** Wall-clock epoch ms at which the grant was sent: the lease lives at least until then + TTL. */
  grantedFrom: number
  /** Delay before reopening a keep-alive stream that failed. */
  retryDelayMs: number
  /** Called once, when the lease is known lost. */
  onLost(reason: LeaseLostReason): void
}

export class KeepAlive {
  readonly #options: KeepAliveOptions
  readonly #ttlMs: number
  #stream: KeepAliveStream | undefined
  #opening = false
  /** Send times of the keep-alives sent on the current stream and not answered yet, oldest first. */
  #unanswered: number[] = []
  /** etcd keeps the lease at least until then: the TTL after the send time of the last keep-alive answered. */
  #validUntil: number
  /** When the last keep-alive was answered (or the grant sent): etcd's expiry is at most the TTL after it… */
  #lastAnswered: number
  /** …or after the last one sent, when that one may have reached etcd without its answer reaching us. */
  #lastSent = 0
  #every: NodeJS.Timeout | undefined
  #expiry: NodeJS.Timeout | undefined
  #reopen: NodeJS.Timeout | undefined
  #stopped = false
  #lost: LeaseLostReason | undefined
  /** Keep-alives answered so far. */
  answered = 0
  /** Streams that failed in a row: each reopening waits twice as long, up to the keep-alive period. */
  #failures = 0

  constructor(options: KeepAliveOptions) {
    this.#options = options
    this.#ttlMs = options.ttlSeconds * 1000
    this.#validUntil = options.grantedFrom + this.#ttlMs
    this.#lastAnswered = options.grantedFrom
  }

  get lost(): LeaseLostReason | undefined {
    return this.#lost
  }

  /** Wall-clock epoch ms until which the lease is surely alive in etcd. */
  get validUntil(): number {
    return this.#validUntil
  }

  /**
   * Wall-clock epoch ms by which etcd has expired the lease at the latest (unless it elects a new leader,
   * which renews every lease by its TTL): the TTL after the last keep-alive etcd may have received, plus the
   * period of etcd's check for expired leases.
   */
  get expiresBy(): number {
    return Math.max(this.#lastSent, this.#lastAnswered) + this.#ttlMs + ETCD_DEFAULTS.expiryCheckMs
  }

  start(): void {
    const everyMs = Math.max(1, Math.floor(this.#ttlMs / ETCD_DEFAULTS.keepAliveDivisor))
    this.#every = setInterval(() => this.#fire(), everyMs).unref()
    this.#armExpiry()
    this.#open()
  }

  /** Stops keeping the lease alive: timers cleared, the stream cancelled (never just ended: see the top). */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    clearInterval(this.#every)
    clearTimeout(this.#expiry)
    clearTimeout(this.#reopen)
    const stream = this.#stream
    this.#stream = undefined
    if (stream) cancel(stream)
  }

  #open(): void {
    if (this.#stopped || this.#stream || this.#opening) return
    this.#opening = true
    this.#options.leaseClient.leaseKeepAlive().then(
      (stream) => {
        this.#opening = false
        if (this.#stopped) return cancel(stream)
        this.#stream = stream
        this.#unanswered = []
        stream.on('data', (response) => this.#answer(stream, response.TTL))
        const failed = () => this.#failed(stream)
        stream.on('error', failed)
        stream.on('end', failed)
        this.#fire()
      },
      () => {
        this.#opening = false
        this.#scheduleReopen()
      },
    )
  }

  #fire(): void {
    if (this.#stopped) return
    const stream = this.#stream
    if (!stream) {
      this.#open()
      return
    }
    const now = Date.now()
    this.#unanswered.push(now)
    this.#lastSent = now
    try {
      stream.write({ ID: this.#options.id })
    } catch {
      this.#failed(stream)
    }
  }

  #answer(stream: KeepAliveStream, ttl: string | number): void {
    if (stream !== this.#stream) return
    const sentAt = this.#unanswered.shift() ?? this.#lastSent
    if (Number(ttl) <= 0) {
      this.#lose('expired')
      return
    }
    this.answered++
    this.#failures = 0
    this.#lastAnswered = Date.now()
    // etcd renewed the lease for its TTL when it received the keep-alive, which is after we sent it.
    this.#validUntil = Math.max(this.#validUntil, sentAt + Number(ttl) * 1000)
    this.#armExpiry()
  }

  #failed(stream: KeepAliveStream): void {
    if (stream !== this.#stream) return
    this.#stream = undefined
    cancel(stream)
    this.#scheduleReopen()
  }

  #scheduleReopen(): void {
    if (this.#stopped) return
    clearTimeout(this.#reopen)
    const everyMs = this.#ttlMs / ETCD_DEFAULTS.keepAliveDivisor
    const delayMs = Math.min(everyMs, this.#options.retryDelayMs * 2 ** Math.min(this.#failures++, 16))
    this.#reopen = setTimeout(() => this.#open(), delayMs).unref()
  }

  #armExpiry(): void {
    if (this.#stopped) return
    clearTimeout(this.#expiry)
    this.#expiry = setTimeout(() => this.#lose('unanswered'), Math.max(0, this.#validUntil - Date.now())).unref()
  }

  #lose(reason: LeaseLostReason): void {
    if (this.#lost || this.#stopped) return
    this.#lost = reason
    this.stop()
    this.#options.onLost(reason)
  }
}

/** Ends the call locally at once (gRPC cancel), whatever the server does; never throws. */
function cancel(stream: KeepAliveStream): void {
  try {
    stream.cancel()
  } catch {
    // already over
  }
}
