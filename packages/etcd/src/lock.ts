import { hostname } from 'node:os'
import {
  checkOptions,
  duration,
  lockRetry,
  nonEmptyString,
  optionalSignal,
  type ReleaseOutcome,
  string,
} from '@lameduck/core/adapter'
import { Attached, type EtcdAttachment } from './attached.js'
import { ETCD_DEFAULTS } from './defaults.js'
import { EtcdLockTimeoutError, EtcdShuttingDownError } from './errors.js'
import type { Generation } from './generation.js'
import type { LeaseState } from './state.js'

// Taking a lock on the lease: one key, created only if absent (`create_revision == 0`), attached to the lease —
// the key layout of etcd3's own `client.lock(key)`, so the two exclude each other. Its create revision is the
// fencing token: etcd's revision only grows, so every later holder's is greater.

/** Options of {@link EtcdLease.lock}. */
export interface EtcdLockOptions {
  /** How long to retry while another lease holds the key; 0: one attempt. Default: {@link ETCD_DEFAULTS}`.waitMs`. */
  waitMs?: number
  /** Cancels a waiting `lock` (it rejects with the signal's reason). */
  signal?: AbortSignal
  /** The value stored at the lock key, to tell who holds it. Default: `<hostname>:<pid>`. */
  value?: string
}

/** A lock held on the lease. `await using lock = await lease.lock(...)` releases it at the end of the block. */
export interface EtcdLock extends EtcdAttachment {
  /** The lock key, as given to `lock` (within the client's namespace, if it has one). */
  readonly key: string
  /**
   * The fencing token: the lock key's create revision, strictly greater than that of every earlier holder of
   * this key. Send it with every write the lock protects and have the storage refuse writes carrying a
   * smaller one.
   */
  readonly fence: number
  /**
   * Deletes the lock key if it is still this holder's (same create revision) — never another holder's.
   * Idempotent: every call gets the same `ReleaseOutcome`; `'released'` also when the lease was revoked.
   * Rejects when etcd fails (the lock is then still held; call again).
   */
  release(): Promise<ReleaseOutcome>
}

export const LOCK_OPTIONS: readonly (keyof EtcdLockOptions)[] = ['waitMs', 'signal', 'value']

class HeldLock extends Attached implements EtcdLock {
  readonly kind = 'lock'
  constructor(
    state: LeaseState,
    generation: Generation,
    key: string,
    readonly fence: number,
  ) {
    super(state, generation, key)
  }

  protected guard(): ['Create', string] {
    return ['Create', String(this.fence)]
  }
}

const holder = () => `${hostname()}:${process.pid}`

export async function lock(state: LeaseState, key: string, options: EtcdLockOptions = {}): Promise<EtcdLock> {
  nonEmptyString('key of lock', key)
  checkOptions('lock', options, LOCK_OPTIONS)
  const waitMs = duration('waitMs of lock', options.waitMs, ETCD_DEFAULTS.waitMs)
  const signal = optionalSignal('signal of lock', options.signal)
  const value = options.value === undefined ? holder() : string('value of lock', options.value)
  const what = `lock "${key}"`
  state.refuseWhenStopping(what)
  signal?.throwIfAborted()

  const retry = lockRetry(state, { waitMs, signal, shuttingDown: () => new EtcdShuttingDownError(what) })
  try {
    for (;;) {
      const generation = await state.lease(what)
      const response = await state.createIfAbsent(key, value, generation, what)
      if (response.succeeded) {
        const held = new HeldLock(state, generation, key, Number(response.header.revision))
        if (generation.over) {
          // The lease is being revoked (or was lost) meanwhile: the key goes with it.
          retry.check()
          continue
        }
        generation.attached.add(held)
        return held
      }
      const holderLease = response.responses[0]?.response_range?.kvs[0]?.lease
      if (holderLease !== undefined && String(holderLease) === generation.id)
        throw new EtcdLockTimeoutError(key, waitMs, true)
      if (!(await retry.pause())) throw new EtcdLockTimeoutError(key, waitMs)
    }
  } finally {
    retry.dispose()
  }
}

export type { ReleaseOutcome }
