import type { Clock, Shutdown } from '@lameduck/core'
import { settleBy, TriggerStop } from '@lameduck/core/adapter'
import { EtcdLeaseInvalidError, type ITxnResponse } from 'etcd3'
import { deadlineIn, type EtcdClient } from './client.js'
import { EtcdShuttingDownError, LeaseGrantError, LeaseRevokeError, type LeaseSummary } from './errors.js'
import { Generation } from './generation.js'
import { KeepAlive } from './keep-alive.js'

// The state of one `createLease`: the lease granted now (its generation, see generation.ts), and the revoke.

export interface LeaseSettings {
  ttlSeconds: number
  retryDelayMs: number
  electionPollMs: number
  requestTimeoutMs: number
}

/** What a revoke did. */
export interface RevokeResult extends LeaseSummary {
  /** The lease revoked; undefined when no lease was granted (nothing to revoke). */
  leaseId: string | undefined
  /**
   * `'revoked'`: etcd deleted every key attached to the lease, at `revision`; `'expired'`: etcd no longer knew
   * the lease (it had expired: its keys were gone already); `'none'`: no lease had been granted.
   */
  outcome: 'revoked' | 'expired' | 'none'
  /** The etcd revision at which the keys were deleted (`'revoked'` only). */
  revision?: number
}

export class LeaseState {
  readonly clock: Clock
  /** Aborts at the first trigger: nothing new is taken from then on, and a waiting lock stops. */
  readonly stop = new TriggerStop()
  /** Set when the release task starts: nothing is attached any more, and no lease is granted. */
  closed = false
  #current: Promise<Generation> | undefined
  #generation: Generation | undefined

  constructor(
    shutdown: Shutdown,
    readonly client: EtcdClient,
    readonly settings: LeaseSettings,
  ) {
    this.clock = shutdown.clock
  }

  /** Aborts at the first trigger of the shutdown. */
  get stopping(): AbortSignal {
    return this.stop.signal
  }

  get generation(): Generation | undefined {
    return this.#generation
  }

  /** The mean delay between two attempts of a waiting `lock` (for the kit's `lockRetry`). */
  get retryDelayMs(): number {
    return this.settings.retryDelayMs
  }

  /** gRPC call options for a request outside the release task. */
  requestOptions(): { deadline: Date } {
    return deadlineIn(this.settings.requestTimeoutMs)
  }

  /**
   * What a request attaching a key to `generation` failed with, once the lease is known gone: etcd's "lease not
   * found" becomes `EtcdShuttingDownError` when the lease was revoked for the shutdown, the lease's
   * `LeaseLostError` when it was lost; anything else stays as it is.
   */
  attachFailure(error: unknown, generation: Generation, what: string): unknown {
    if (!(error instanceof EtcdLeaseInvalidError)) return error
    if (this.stop.signal.aborted || this.closed) return new EtcdShuttingDownError(what)
    if (!generation.over) generation.lose('expired')
    return generation.signal.reason ?? error
  }

  /**
   * Creates `key` = `value` attached to `generation`'s lease if the key does not exist (create revision 0),
   * else reads it: the transaction's answer says which (`succeeded`; the key as it is in `responses[0]`). A
   * failure is the one `attachFailure` gives.
   */
  createIfAbsent(key: string, value: string, generation: Generation, what: string): Promise<ITxnResponse> {
    const { client } = this
    return client
      .if(key, 'Create', '==', 0)
      .then(client.put(key).value(value).lease(generation.id))
      .else(client.get(key))
      .options(this.requestOptions())
      .commit()
      .catch((error: unknown) => {
        throw this.attachFailure(error, generation, what)
      })
  }

  /** Throws when nothing may be attached any more (`what`: `lock "x"`, for the message). */
  refuseWhenStopping(what: string): void {
    if (this.stop.signal.aborted || this.closed) throw new EtcdShuttingDownError(what)
  }

  /** The lease to attach to: the one granted, or a new one (granted now). Rejects with `LeaseGrantError`. */
  lease(what: string): Promise<Generation> {
    this.refuseWhenStopping(what)
    const current = this.#current
    if (current && !this.#generation?.over) return current
    const granting = this.#grant(what)
    this.#current = granting
    granting.catch(() => {
      if (this.#current === granting) this.#current = undefined
    })
    return granting
  }

  async #grant(what: string): Promise<Generation> {
    const { ttlSeconds, retryDelayMs } = this.settings
    const grantedFrom = Date.now()
    let response: { ID: string; TTL: string }
    try {
      response = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }, this.requestOptions())
    } catch (error) {
      throw new LeaseGrantError(ttlSeconds, error)
    }
    const id = String(response.ID)
    if (this.closed) {
      // Granted while the release task ran: give it back at once rather than leave it to its TTL.
      this.client.leaseClient.leaseRevoke({ ID: id }, this.requestOptions()).catch(() => {})
      throw new EtcdShuttingDownError(what)
    }
    const granted = Number(response.TTL) > 0 ? Number(response.TTL) : ttlSeconds
    let generation: Generation | undefined
    const keepAlive = new KeepAlive({
      leaseClient: this.client.leaseClient,
      id,
      ttlSeconds: granted,
      grantedFrom,
      retryDelayMs,
      onLost: (reason) => generation?.lose(reason),
    })
    generation = new Generation(id, granted, keepAlive)
    this.#generation = generation
    keepAlive.start()
    return generation
  }

  /**
   * Revokes the lease: the keep-alive is stopped first, then one `LeaseRevoke` deletes every key attached
   * to it. Waits until epoch ms `until` on the coordinator's clock (or `signal`); rejects with
   * `LeaseRevokeError` when etcd did not revoke it by then. Every attachment is settled: `'released'`, or
   * `'lost'` when the lease had expired.
   */
  async revoke(wait: { until: number; signal?: AbortSignal }): Promise<RevokeResult> {
    const { clock } = this
    const current = this.#current
    this.#current = undefined
    const none: RevokeResult = { leaseId: undefined, outcome: 'none', locks: 0, registrations: 0, leaderships: 0 }
    if (!current) return none
    const granted = await settleBy(
      current.catch(() => undefined),
      wait.until,
      { clock, signal: wait.signal },
    )
    if (!granted.done)
      throw new LeaseRevokeError(
        '(grant unanswered)',
        this.settings.ttlSeconds,
        Date.now() + this.settings.ttlSeconds * 1000,
        none,
        undefined,
        0,
      )
    const generation = granted.value
    if (!generation) return none
    generation.over = true
    // Keep-alive first: a keep-alive etcd answered after the revoke would only say "TTL 0".
    generation.keepAlive.stop()
    const held = generation.summary()
    if (generation.keepAlive.lost) {
      generation.settleAll('lost')
      return { leaseId: generation.id, outcome: 'expired', ...held }
    }
    const budgetMs = Math.max(0, wait.until - clock.now())
    let settled: Awaited<ReturnType<typeof settleBy<{ header: { revision: string } }>>>
    try {
      settled = await settleBy(
        this.client.leaseClient.leaseRevoke({ ID: generation.id }, deadlineIn(budgetMs)),
        wait.until,
        { clock, signal: wait.signal },
      )
    } catch (error) {
      if (error instanceof EtcdLeaseInvalidError) {
        generation.settleAll('lost')
        return { leaseId: generation.id, outcome: 'expired', ...held }
      }
      throw new LeaseRevokeError(
        generation.id,
        generation.ttlSeconds,
        generation.keepAlive.expiresBy,
        held,
        error,
        budgetMs,
      )
    }
    if (!settled.done)
      throw new LeaseRevokeError(
        generation.id,
        generation.ttlSeconds,
        generation.keepAlive.expiresBy,
        held,
        undefined,
        budgetMs,
      )
    generation.settleAll('released')
    return { leaseId: generation.id, outcome: 'revoked', revision: Number(settled.value.header.revision), ...held }
  }
}
