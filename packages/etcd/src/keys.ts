import { nonEmptyString, type ReleaseOutcome, string } from '@lameduck/core/adapter'
import { Attached, type EtcdAttachment } from './attached.js'
import type { Generation } from './generation.js'
import type { LeaseState } from './state.js'

// Registering a key on the lease: service discovery ("this pod serves at 10.0.0.7:8080"), presence, a
// claim. A plain put attached to the lease: it vanishes with the lease, at the revoke at shutdown, or at the
// TTL when the process dies without one.

/** A key registered on the lease. */
export interface EtcdRegisteredKey extends EtcdAttachment {
  /** The key, as given to `register` (within the client's namespace, if it has one). */
  readonly key: string
  /** The value last written by `register`. */
  readonly value: string
  /** The etcd revision of that write. */
  readonly revision: number
  /**
   * Deletes the key if it is still attached to this lease (nobody wrote it since without the lease).
   * Idempotent; `'released'` also when the lease was revoked, `'lost'` when the key was gone or taken over.
   */
  release(): Promise<ReleaseOutcome>
}

class RegisteredKey extends Attached implements EtcdRegisteredKey {
  readonly kind = 'registration'
  constructor(
    state: LeaseState,
    generation: Generation,
    key: string,
    public value: string,
    public revision: number,
  ) {
    super(state, generation, key)
  }

  protected guard(): ['Lease', string] {
    return ['Lease', this.generation.id]
  }
}

export async function register(state: LeaseState, key: string, value: string): Promise<EtcdRegisteredKey> {
  nonEmptyString('key of register', key)
  string('value of register', value)
  const what = `registration "${key}"`
  for (;;) {
    const generation = await state.lease(what)
    const response = await state.client
      .put(key)
      .value(value)
      .lease(generation.id)
      .options(state.requestOptions())
      .exec()
      .catch((error: unknown) => {
        throw state.attachFailure(error, generation, what)
      })
    if (generation.over) {
      state.refuseWhenStopping(what)
      continue
    }
    // The same key registered again on the same lease: one registration, with the new value.
    for (const attachment of generation.attached)
      if (attachment instanceof RegisteredKey && attachment.key === key) {
        attachment.value = value
        attachment.revision = Number(response.header.revision)
        return attachment
      }
    const registered = new RegisteredKey(state, generation, key, value, Number(response.header.revision))
    generation.attached.add(registered)
    return registered
  }
}
