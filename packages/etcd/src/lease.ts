import type { Shutdown } from '@lameduck/core'
import { InvalidOptionError } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  describeValue,
  duration,
  optionKeys,
  type Registration,
  registerTask,
  taskOptions,
} from '@lameduck/core/adapter'
import { requireCoordinator, requireEtcdClient } from './arguments.js'
import type { EtcdClient } from './client.js'
import { ETCD_DEFAULTS } from './defaults.js'
import { campaign, type EtcdCampaignOptions, type EtcdLeadership } from './election.js'
import { type EtcdRegisteredKey, register } from './keys.js'
import { type EtcdLock, type EtcdLockOptions, lock } from './lock.js'
import { LeaseState, type RevokeResult } from './state.js'

export type { RevokeResult }

/**
 * Options of {@link createLease}. Also the task options every adapter takes — `name`, `phase`, `timeoutMs`
 * (the revoke's budget) and `critical` (whether a lease left unrevoked makes the exit code non-zero) — with
 * their defaults in {@link ETCD_DEFAULTS}`.lease`.
 */
export interface EtcdLeaseOptions extends AdapterTaskOptions {
  /** The lease's TTL in whole seconds, at least 1. Default: {@link ETCD_DEFAULTS}`.ttlSeconds`. */
  ttlSeconds?: number
  /**
   * Mean delay between attempts of a waiting `lock` (jittered by {@link ETCD_DEFAULTS}`.retryJitter`), and
   * before reopening a failed keep-alive stream; greater than 0. Default: {@link ETCD_DEFAULTS}`.retryDelayMs`.
   */
  retryDelayMs?: number
  /** How often a waiting campaign checks whether it leads; greater than 0. Default: {@link ETCD_DEFAULTS}`.electionPollMs`. */
  electionPollMs?: number
  /** Deadline of each request outside the shutdown; greater than 0. Default: {@link ETCD_DEFAULTS}`.requestTimeoutMs`. */
  requestTimeoutMs?: number
}

/**
 * What {@link createLease} returns: the registration of the revoke task (`name`, `remove()`,
 * `[Symbol.dispose]`) and what attaches keys to the lease.
 */
export interface EtcdLease extends Registration {
  /** The TTL asked for, in seconds (etcd may grant more: it raises a TTL below its minimum). */
  readonly ttlSeconds: number
  /**
   * The lease's ID, granting it first if needed (a decimal int64 string, as etcd3 gives it). Rejects with
   * `LeaseGrantError` when etcd does not grant it, `EtcdShuttingDownError` once the shutdown has started.
   */
  id(): Promise<string>
  /**
   * Aborts (with a `LeaseLostError`) when the current lease is lost — etcd answered a keep-alive with TTL 0,
   * or none was answered for the whole TTL — and with it every lock, key and leadership on it. The next use
   * grants a new lease (and a new signal). Undefined before the first grant.
   */
  readonly signal: AbortSignal | undefined
  /**
   * Takes the lock `key` on the lease: created only if absent, so another lease's (or etcd3's
   * `client.lock(key)`'s) excludes it. Rejects with `EtcdLockTimeoutError` when it is still held after
   * `waitMs` (at once when this very lease holds it), and with `EtcdShuttingDownError` once the shutdown has
   * started (a waiting `lock` is cancelled at that moment).
   */
  lock(key: string, options?: EtcdLockOptions): Promise<EtcdLock>
  /** Writes `key` = `value` attached to the lease (again: a new value for the same registration). */
  register(key: string, value: string): Promise<EtcdRegisteredKey>
  /**
   * Campaigns in `election` with `value` and resolves once this process leads it (etcd3's election layout:
   * the candidate with the lowest create revision leads). Rejects with `EtcdShuttingDownError` when the
   * shutdown starts first, with the signal's reason when `options.signal` aborts, with `LeaseLostError`
   * when the lease is lost; the candidate key is deleted in each case.
   */
  campaign(election: string, value: string, options?: EtcdCampaignOptions): Promise<EtcdLeadership>
  /** The locks held right now on the lease, oldest first: a new array at each call. */
  held(): readonly EtcdLock[]
  /** The keys registered right now on the lease. */
  registrations(): readonly EtcdRegisteredKey[]
  /** The leaderships held right now, and the campaigns still waiting to lead. */
  leaderships(): readonly EtcdLeadership[]
  /**
   * Revokes the lease now (every key on it is deleted by etcd in one request). The next use grants a new
   * lease. Rejects with `LeaseRevokeError` when etcd did not revoke it within `requestTimeoutMs`.
   */
  revoke(): Promise<RevokeResult>
}

export const LEASE_OPTIONS = optionKeys<EtcdLeaseOptions>({
  ttlSeconds: true,
  retryDelayMs: true,
  electionPollMs: true,
  requestTimeoutMs: true,
})

/** The lease's TTL: whole seconds, at least 1 (etcd leases have a TTL in seconds). */
function ttlSeconds(option: string, value: unknown): number {
  const v = value === undefined ? ETCD_DEFAULTS.ttlSeconds : value
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2_147_483)
    throw new InvalidOptionError(option, `expected whole seconds from 1 to 2147483; got ${describeValue(v)}`)
  return v
}

/**
 * One etcd lease for the process, and what hangs on it — locks, registered keys, election candidacies —
 * given back all at once at shutdown.
 *
 * The lease is granted at once (or at first use if etcd is unreachable then) and kept alive every TTL / 3.
 * Registers one task (the `release` phase by default) that stops the keep-alive first, then revokes the lease:
 * etcd deletes every key attached to it in that one request, so other processes see the locks free, the
 * registrations gone and a new leader within milliseconds — not at the TTL. When the revoke fails (etcd or
 * its leader unreachable, no answer before the task's stop time), the task fails with `LeaseRevokeError`,
 * whose message says that lease expiry is the fallback and by when the keys are gone. From the first
 * trigger on, `lock`, `register` and `campaign` reject with `EtcdShuttingDownError`, and those waiting give
 * up. The same client given to `createLease` twice on one coordinator throws `DuplicateRegistrationError`.
 *
 * @example
 * const lease = createLease(shutdown, etcd, { ttlSeconds: 10 })
 * await lease.register(`services/api/${podName}`, podIP)
 * await using lock = await lease.lock('jobs/nightly', { waitMs: 2000 })
 * await db.query('UPDATE jobs SET ... WHERE fence < $1', [lock.fence])
 */
export function createLease(shutdown: Shutdown, client: EtcdClient, options?: EtcdLeaseOptions): EtcdLease {
  requireCoordinator('createLease', shutdown, 'createLease(shutdown, client, options?)')
  requireEtcdClient('createLease', client)
  checkOptions('createLease', options, LEASE_OPTIONS)
  const o = options ?? {}
  const task = taskOptions('createLease', o, ETCD_DEFAULTS.lease)
  const positive = { positive: true }
  const state = new LeaseState(shutdown, client, {
    ttlSeconds: ttlSeconds('ttlSeconds of createLease', o.ttlSeconds),
    retryDelayMs: duration('retryDelayMs of createLease', o.retryDelayMs, ETCD_DEFAULTS.retryDelayMs, positive),
    electionPollMs: duration('electionPollMs of createLease', o.electionPollMs, ETCD_DEFAULTS.electionPollMs, positive),
    requestTimeoutMs: duration(
      'requestTimeoutMs of createLease',
      o.requestTimeoutMs,
      ETCD_DEFAULTS.requestTimeoutMs,
      positive,
    ),
  })
  const registration = registerTask(shutdown, {
    where: 'createLease',
    task,
    resource: client,
    resourceLabel: 'this client',
    async run(signal, context) {
      state.closed = true
      const started = context.clock.now()
      const result = await state.revoke({ until: context.stopAt(), signal })
      const name = context.name
      const { locks, registrations, leaderships } = result
      if (result.outcome === 'revoked')
        shutdown.logger.info(
          { event: 'etcd.lease.revoked', task: name, ...result, ms: context.clock.now() - started },
          `${name}: lease ${result.leaseId} revoked: ${locks} lock(s), ${registrations} registration(s) and ` +
            `${leaderships} leadership(s) deleted at revision ${result.revision}`,
        )
      else if (result.outcome === 'expired')
        shutdown.logger.warn(
          { event: 'etcd.lease.expired', task: name, ...result },
          `${name}: lease ${result.leaseId} had already expired: its ${locks} lock(s), ${registrations} ` +
            `registration(s) and ${leaderships} leadership(s) were gone before the shutdown`,
        )
      return result
    },
    onRemove: () => state.stop.detach(),
  })
  state.stop.follow(shutdown)
  // Granted now, so that the lease (and a problem with etcd) is there before the first use; a failure is
  // retried at the first use, which rejects with it.
  if (shutdown.state === 'running') state.lease('the lease').catch(() => {})
  const attached = <T>(kind: 'lock' | 'registration' | 'leadership') =>
    [...(state.generation?.attached ?? [])].filter((a) => a.kind === kind) as T[]
  return {
    ...registration,
    ttlSeconds: state.settings.ttlSeconds,
    id: async () => (await state.lease('the lease')).id,
    get signal() {
      return state.generation?.signal
    },
    lock: (key, lockOptions) => lock(state, key, lockOptions),
    register: (key, value) => register(state, key, value),
    campaign: (election, value, campaignOptions) => campaign(state, election, value, campaignOptions),
    held: () => attached<EtcdLock>('lock'),
    registrations: () => attached<EtcdRegisteredKey>('registration'),
    leaderships: () => attached<EtcdLeadership>('leadership'),
    revoke: () => state.revoke({ until: state.clock.now() + state.settings.requestTimeoutMs }),
  }
}
