import type { ReleaseOutcome } from '@lameduck/core/adapter'
import type { Attachment, Generation } from './generation.js'
import type { LeaseState } from './state.js'

// What locks, registered keys and leaderships have in common: a key attached to the lease, given back by a
// compare-and-delete (only while it is still ours), or settled all at once when the lease is revoked or lost.

/** What a lock, a registered key and a leadership have in common: a key attached to the lease. */
export interface EtcdAttachment extends AsyncDisposable {
  /** The ID of the lease the key is attached to. */
  readonly leaseId: string
  /**
   * Aborts (with a `LeaseLostError`) as soon as the lease is known lost: the key — and the lock, the
   * registration or the leadership — is gone with it.
   */
  readonly signal: AbortSignal
  /** Same as `release()` (`resign()` for a leadership), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

export abstract class Attached implements Attachment {
  abstract readonly kind: Attachment['kind']
  readonly #controller = new AbortController()
  #result: ReleaseOutcome | undefined
  #releasing: Promise<ReleaseOutcome> | undefined

  constructor(
    protected readonly state: LeaseState,
    protected readonly generation: Generation,
    readonly key: string,
  ) {}

  /** The ID of the lease the key is attached to (a decimal int64, as etcd3 gives it). */
  get leaseId(): string {
    return this.generation.id
  }

  /** Aborts (with a `LeaseLostError`) as soon as the lease is known lost. Not aborted by a release. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** The comparison that says the key is still this attachment's: `[target, value]` for etcd3's `if`. */
  protected abstract guard(): ['Create' | 'Lease', string]

  release(): Promise<ReleaseOutcome> {
    if (this.#result) return Promise.resolve(this.#result)
    if (this.#releasing) return this.#releasing
    const { client } = this.state
    const [target, value] = this.guard()
    this.#releasing = client
      .if(this.key, target, '==', value)
      .then(client.delete().key(this.key))
      .options(this.state.requestOptions())
      .commit()
      .then(
        (response) => {
          const outcome: ReleaseOutcome = response.succeeded ? 'released' : 'lost'
          this.generation.attached.delete(this)
          this.settle(outcome)
          return outcome
        },
        (error: unknown) => {
          this.#releasing = undefined
          throw error
        },
      )
    return this.#releasing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }

  settle(outcome: ReleaseOutcome, reason?: Error): void {
    if (this.#result) return
    this.#result = outcome
    if (outcome === 'lost' && reason) this.#controller.abort(reason)
  }

  /** Whether it is still attached (not released, not lost). */
  get attached(): boolean {
    return this.#result === undefined
  }
}
