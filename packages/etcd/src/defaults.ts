import { LOCK_RETRY_DEFAULTS } from '@lameduck/core/adapter'

/**
 * Every default of `@lameduck/etcd`, in one place: the code reads them from here, the README states them
 * (a test checks it) and the TSDoc refers to them.
 */
export const ETCD_DEFAULTS = {
  /**
   * The task `createLease` registers: stops the keep-alive and revokes the lease, which deletes every key
   * attached to it — locks, registrations, election keys — in one request.
   */
  lease: { name: 'etcd-lease', phase: 'release', timeoutMs: 2_000, critical: true },
  /** The task `closeEtcd` registers: `client.close()`. */
  close: { name: 'etcd-close', phase: 'close', timeoutMs: 1_000, critical: true },
  /**
   * The lease's time to live, in seconds: how long its keys outlive a process that died without revoking
   * it (SIGKILL, a lost node). etcd may raise it to its minimum (about 1.5 × its election timeout).
   */
  ttlSeconds: 10,
  /** The keep-alive is sent every `TTL / keepAliveDivisor` (what etcd's Go client does). */
  keepAliveDivisor: 3,
  /**
   * `waitMs` (how long `lock` waits for a lock another lease holds; 0: one attempt only), `retryDelayMs` (the
   * mean delay between two attempts, also before reopening a failed keep-alive stream) and `retryJitter`:
   * the retry of every lock adapter, from the kit.
   */
  ...LOCK_RETRY_DEFAULTS,
  /** How often a campaign that is not (yet) the leader checks whether the candidates before it are gone. */
  electionPollMs: 250,
  /**
   * The deadline of each request outside the shutdown (grant, lock, register, campaign, release): a hung etcd
   * fails them instead of holding them forever. During the release task the task's own budget applies.
   */
  requestTimeoutMs: 5_000,
  /**
   * etcd looks for expired leases every 500 ms (its lessor's loop), so a lease's keys go up to that much
   * after its TTL ran out: counted in the time a failed revoke's report gives.
   */
  expiryCheckMs: 500,
  /** Prefix of election keys: `election/<name>/<lease id>`, the layout of etcd3's `client.election(name)`. */
  electionPrefix: 'election/',
} as const
