import { InvalidOptionError } from '@lameduck/core'
import {
  checkOptions,
  linkSignals,
  nonEmptyString,
  optionalSignal,
  type ReleaseOutcome,
  sleep,
  string,
} from '@lameduck/core/adapter'
import { Attached, type EtcdAttachment } from './attached.js'
import { ETCD_DEFAULTS } from './defaults.js'
import { EtcdShuttingDownError } from './errors.js'
import type { Generation } from './generation.js'
import type { LeaseState } from './state.js'

// Campaigning on the lease: a candidate key `election/<name>/<lease id>` attached to the lease — the layout of
// etcd3's `client.election(name)` (and of the Go client's, with its own prefix), so `election.leader()` and
// `election.observe()` of etcd3 see this process — and the candidate with the lowest create revision leads.
// A candidate checks every `electionPollMs` whether those before it are gone, rather than holding an etcd3
// watcher: a watcher's `cancel()` waits for etcd's answer (forever when etcd hangs), and one still attached
// when the client is closed keeps reconnecting.

/** Options of {@link EtcdLease.campaign}. */
export interface EtcdCampaignOptions {
  /** Gives up a campaign still waiting to lead (it rejects with the signal's reason; the candidate key is deleted). */
  signal?: AbortSignal
}

/** This process leads the election, on the lease. */
export interface EtcdLeadership extends EtcdAttachment {
  /** The election's name, as given to `campaign`. */
  readonly election: string
  /** The candidate key: `election/<name>/<lease id>`. */
  readonly key: string
  /** The value this leader proclaims (the candidate key's value). */
  readonly value: string
  /** The candidate key's create revision: a fencing token, greater than every earlier leader's. */
  readonly fence: number
  /** Resigns: deletes the candidate key if it is still this one; the next candidate leads. Idempotent. */
  resign(): Promise<ReleaseOutcome>
}

export const CAMPAIGN_OPTIONS: readonly (keyof EtcdCampaignOptions)[] = ['signal']

class Candidate extends Attached implements EtcdLeadership {
  readonly kind = 'leadership'
  constructor(
    state: LeaseState,
    generation: Generation,
    readonly election: string,
    key: string,
    readonly value: string,
    readonly fence: number,
  ) {
    super(state, generation, key)
  }

  protected guard(): ['Create', string] {
    return ['Create', String(this.fence)]
  }

  resign(): Promise<ReleaseOutcome> {
    return this.release()
  }
}

export async function campaign(
  state: LeaseState,
  election: string,
  value: string,
  options: EtcdCampaignOptions = {},
): Promise<EtcdLeadership> {
  nonEmptyString('election of campaign', election)
  string('value of campaign', value)
  checkOptions('campaign', options, CAMPAIGN_OPTIONS)
  const signal = optionalSignal('signal of campaign', options.signal)
  const what = `campaign "${election}"`
  signal?.throwIfAborted()
  const { client, clock } = state
  const generation = await state.lease(what)
  const prefix = `${ETCD_DEFAULTS.electionPrefix}${election}/`
  const key = `${prefix}${generation.id}`
  for (const attachment of generation.attached)
    if (attachment instanceof Candidate && attachment.key === key)
      throw new InvalidOptionError(
        'election of campaign',
        `this lease already campaigns in election "${election}" (resign first, or use another lease)`,
      )
  const response = await state.createIfAbsent(key, value, generation, what)
  let fence = Number(response.header.revision)
  if (!response.succeeded) {
    // Left by an earlier campaign of this lease: keep its place in the queue, with the new value.
    fence = Number(response.responses[0]?.response_range?.kvs[0]?.create_revision ?? fence)
    await client.put(key).value(value).lease(generation.id).options(state.requestOptions()).exec()
  }
  const candidate = new Candidate(state, generation, election, key, value, fence)
  generation.attached.add(candidate)
  const stop = linkSignals([state.stopping, signal, generation.signal])
  try {
    for (;;) {
      const before = await client
        .getAll()
        .prefix(prefix)
        .maxCreateRevision(String(fence - 1))
        .limit(1)
        .options(state.requestOptions())
        .exec()
      if (before.kvs.length === 0 && candidate.attached) return candidate
      if (!candidate.attached) generation.signal.throwIfAborted()
      if (!(await sleep(state.settings.electionPollMs, { clock, signal: stop.signal }))) break
    }
  } catch (error) {
    candidate.release().catch(() => {})
    throw error
  } finally {
    stop.dispose()
  }
  // Given up while waiting: the candidate key goes now, so that it never leads (observers would see it).
  candidate.release().catch(() => {})
  generation.signal.throwIfAborted()
  if (state.stopping.aborted) throw new EtcdShuttingDownError(what)
  signal?.throwIfAborted()
  throw new EtcdShuttingDownError(what)
}
