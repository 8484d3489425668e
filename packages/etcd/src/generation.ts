import type { ReleaseOutcome } from '@lameduck/core/adapter'
import { LeaseLostError, type LeaseLostReason, type LeaseSummary } from './errors.js'
import type { KeepAlive } from './keep-alive.js'

// One granted lease — a "generation": a lost or revoked lease is never reused, the next use grants a new one —
// and what is attached to it.

/** Something attached to the lease: a lock, a registered key, a leadership (or a candidate). */
export interface Attachment {
  readonly kind: 'lock' | 'registration' | 'leadership'
  /** The lease revoked (`'released'`) or lost (`'lost'`): the key is gone; settle without asking etcd. */
  settle(outcome: ReleaseOutcome, reason?: Error): void
}

/** One granted lease and what is attached to it. */
export class Generation {
  readonly #controller = new AbortController()
  readonly attached = new Set<Attachment>()
  /** Set when the lease is finished (revoked, or being revoked, or lost): nothing more is attached to it. */
  over = false

  constructor(
    readonly id: string,
    readonly ttlSeconds: number,
    readonly keepAlive: KeepAlive,
  ) {}

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  summary(): LeaseSummary {
    const summary: LeaseSummary = { locks: 0, registrations: 0, leaderships: 0 }
    for (const { kind } of this.attached)
      summary[kind === 'lock' ? 'locks' : kind === 'registration' ? 'registrations' : 'leaderships']++
    return summary
  }

  /** Every attachment settles with `outcome`. */
  settleAll(outcome: ReleaseOutcome, reason?: Error): void {
    const all = [...this.attached]
    this.attached.clear()
    for (const attachment of all) attachment.settle(outcome, reason)
  }

  lose(reason: LeaseLostReason): void {
    if (this.#controller.signal.aborted) return
    this.over = true
    const error = new LeaseLostError(this.id, reason)
    this.#controller.abort(error)
    this.settleAll('lost', error)
  }
}
