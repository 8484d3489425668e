import { LameduckError } from '@lameduck/core'

/** The closed catalogue of the error codes `@lameduck/etcd` throws or records, each with its class. */
export const ETCD_ERROR_CODES = [
  /** {@link EtcdLockTimeoutError} */
  'LAMEDUCK_ERR_ETCD_LOCK_TIMEOUT',
  /** {@link EtcdShuttingDownError} */
  'LAMEDUCK_ERR_ETCD_SHUTTING_DOWN',
  /** {@link LeaseGrantError} */
  'LAMEDUCK_ERR_ETCD_LEASE_GRANT',
  /** {@link LeaseLostError} */
  'LAMEDUCK_ERR_ETCD_LEASE_LOST',
  /** {@link LeaseRevokeError} */
  'LAMEDUCK_ERR_ETCD_REVOKE_FAILED',
] as const

/** The warning codes `@lameduck/etcd` emits: none (its problems are errors of its tasks). */
export const ETCD_WARNING_CODES = [] as const

const messageOf = (error: unknown): string => String((error as Error)?.message ?? error)

/** `lock` gave up: the key was still held by another lease when `waitMs` ran out (or by this very lease). */
export class EtcdLockTimeoutError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ETCD_LOCK_TIMEOUT'

  constructor(
    readonly key: string,
    readonly waitMs: number,
    /** Whether the holder is the same lease: this process holds the lock already. */
    readonly ownLease = false,
  ) {
    super(
      'LAMEDUCK_ERR_ETCD_LOCK_TIMEOUT',
      ownLease
        ? `lock "${key}" is held by this lease already: release it before taking it again`
        : waitMs === 0
          ? `lock "${key}" is held by another lease`
          : `lock "${key}" was still held by another lease after waiting ${waitMs} ms`,
    )
  }
}

/** `lock`, `register` or `campaign` was called, or was waiting, when the shutdown had started. */
export class EtcdShuttingDownError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ETCD_SHUTTING_DOWN'

  constructor(
    /** What was refused: `lock "jobs/42"`, `registration "services/api/pod-1"`, `campaign "leader"`. */
    readonly what: string,
  ) {
    super('LAMEDUCK_ERR_ETCD_SHUTTING_DOWN', `cannot take ${what}: the process is shutting down`)
  }
}

/** etcd did not grant the lease (unreachable, or it refused); nothing was attached. The next use tries again. */
export class LeaseGrantError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ETCD_LEASE_GRANT'

  constructor(
    readonly ttlSeconds: number,
    cause: unknown,
  ) {
    super('LAMEDUCK_ERR_ETCD_LEASE_GRANT', `etcd did not grant a lease of ${ttlSeconds} s: ${messageOf(cause)}`, {
      cause,
    })
  }
}

/** Why a lease is known lost. */
export type LeaseLostReason =
  /** etcd answered a keep-alive with TTL 0: the lease had expired (or was revoked by someone else). */
  | 'expired'
  /** No keep-alive was answered for the whole TTL: etcd has let it expire by now. */
  | 'unanswered'

/**
 * The abort reason of `lease.signal` and of the signal of every lock and leadership on it: the lease is gone,
 * so every key attached to it is gone (or about to be), and the work they protect must stop.
 */
export class LeaseLostError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ETCD_LEASE_LOST'

  constructor(
    readonly leaseId: string,
    readonly reason: LeaseLostReason,
  ) {
    super(
      'LAMEDUCK_ERR_ETCD_LEASE_LOST',
      reason === 'expired'
        ? `lease ${leaseId} was lost: etcd answered its keep-alive with TTL 0 (expired or revoked); its keys are gone`
        : `lease ${leaseId} was lost: no keep-alive was answered for its whole TTL; etcd has let it expire`,
    )
  }
}

/** What the lease held when it was revoked (or could not be). */
export interface LeaseSummary {
  locks: number
  registrations: number
  leaderships: number
}

/**
 * The release task could not revoke the lease before its deadline: etcd unreachable, its leader gone, or no
 * answer in time. Nothing is stuck for good — every key attached to the lease expires with it, by `expiresBy`
 * (the TTL after the last keep-alive) — but until then other processes still see the locks held, the
 * registrations listed and this process as the leader.
 */
export class LeaseRevokeError extends LameduckError {
  declare readonly code: 'LAMEDUCK_ERR_ETCD_REVOKE_FAILED'

  constructor(
    readonly leaseId: string,
    readonly ttlSeconds: number,
    /** Wall-clock epoch ms by which etcd expires the lease (the TTL after the last keep-alive sent). */
    readonly expiresBy: number,
    readonly held: LeaseSummary,
    /** Why: etcd's error, or `undefined` when it gave no answer before the deadline. */
    cause: unknown,
    budgetMs: number,
  ) {
    const why = cause === undefined ? `no answer within ${Math.round(budgetMs)} ms` : messageOf(cause)
    super(
      'LAMEDUCK_ERR_ETCD_REVOKE_FAILED',
      `lease ${leaseId} was not revoked (${why}): lease expiry is the fallback — its ${held.locks} lock(s), ` +
        `${held.registrations} registration(s) and ${held.leaderships} leadership(s) disappear at its TTL ` +
        `(${ttlSeconds} s), by ${new Date(expiresBy).toISOString()} at the latest (later only if etcd elects a new ` +
        'leader meanwhile: a new leader renews every lease by its TTL)',
      cause === undefined ? undefined : { cause },
    )
  }
}

/** A code of {@link ETCD_ERROR_CODES}. */
export type EtcdErrorCode = (typeof ETCD_ERROR_CODES)[number]
/** A code of {@link ETCD_WARNING_CODES}. */
export type EtcdWarningCode = (typeof ETCD_WARNING_CODES)[number]
