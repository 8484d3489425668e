import { hostname } from 'node:os'
import {
  checkOptions,
  duration,
  linkSignals,
  nonEmptyString,
  optionalSignal,
  type ReleaseOutcome,
  sleep,
  string,
} from '@lameduck/core/adapter'
import { Attached } from './attached.js'
import { ETCD_DEFAULTS } from './defaults.js'
import { EtcdLockTimeoutError, EtcdShuttingDownError } from './errors.js'
import type { Generation, LeaseState } from './state.js'

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
export interface EtcdLock extends AsyncDisposable {
  /** The lock key, as given to `lock` (within the client's namespace, if it has one). */
  readonly key: string
  /**
   * The fencing token: the lock key's create revision, strictly greater than that of every earlier holder of
   * this key. Send it with every write the lock protects and have the storage refuse writes carrying a
   * smaller one.
   */
  readonly fence: number
  /** The ID of the lease the lock key is attached to. */
  readonly leaseId: string
  /** Aborts (with a `LeaseLostError`) as soon as the lease is known lost: the lock is gone with it. */
  readonly signal: AbortSignal
  /**
   * Deletes the lock key if it is still this holder's (same create revision) — never another holder's.
   * Idempotent: every call gets the same `ReleaseOutcome`; `'released'` also when the lease was revoked.
   * Rejects when etcd fails (the lock is then still held; call again).
   */
  release(): Promise<ReleaseOutcome>
  [Symbol.asyncDispose](): Promise<void>
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

  const { clock, client } = state
  const waitUntil = clock.now() + waitMs
  const stop = linkSignals([state.stopping, signal])
  const stopped = () => {
    if (state.stopping.aborted) throw new EtcdShuttingDownError(what)
    signal?.throwIfAborted()
  }
  try {
    for (;;) {
      const generation = await state.lease(what)
      const response = await client
        .if(key, 'Create', '==', 0)
        .then(client.put(key).value(value).lease(generation.id))
        .else(client.get(key))
        .options(state.requestOptions())
        .commit()
        .catch((error: unknown) => {
          throw state.attachFailure(error, generation, what)
        })
      if (response.succeeded) {
        const held = new HeldLock(state, generation, key, Number(response.header.revision))
        if (generation.over) {
          // The lease is being revoked (or was lost) meanwhile: the key goes with it.
          stopped()
          continue
        }
        generation.attached.add(held)
        return held
      }
      const holderLease = response.responses[0]?.response_range?.kvs[0]?.lease
      if (holderLease !== undefined && String(holderLease) === generation.id)
        throw new EtcdLockTimeoutError(key, waitMs, true)
      stopped()
      const remaining = waitUntil - clock.now()
      if (remaining <= 0) throw new EtcdLockTimeoutError(key, waitMs)
      const delay = state.settings.retryDelayMs * (1 + ETCD_DEFAULTS.retryJitter * (2 * Math.random() - 1))
      if (!(await sleep(Math.min(delay, remaining), { clock, signal: stop.signal }))) stopped()
    }
  } finally {
    stop.dispose()
  }
}

export type { ReleaseOutcome }
