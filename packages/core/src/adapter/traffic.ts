import { TRAFFIC_SOURCE, type TrafficFeed } from '../drain-delay.js'
import type { Shutdown } from '../shutdown.js'
import { type Registration, registration } from '../task.js'

/**
 * What {@link trafficSource} returns: call `arrived()` for every new connection (or stream, for protocols
 * that multiplex) the adapter accepts — the adaptive drain delay ends once none has arrived for its
 * `quietMs`. Cheap: it only records the time while a drain delay is being waited. `remove()` (or `using`)
 * takes the source away with the adapter.
 */
export interface TrafficSource extends Registration {
  arrived(): void
}

/**
 * User-Agent prefixes of traffic that is not traffic: the kubelet's probes and lifecycle hooks, lameduck's
 * own preStop client, and the health checkers of the cloud load balancers (which keep checking a target
 * they have stopped routing to). A request whose User-Agent starts with one does not count as an arrival.
 */
export const NOT_TRAFFIC_USER_AGENTS = [
  'kube-probe/',
  'kube-lifecycle/',
  'lameduck-prestop',
  'ELB-HealthChecker/',
  'GoogleHC/',
] as const

/** Whether a request with this User-Agent is infrastructure (probes, hooks, health checks), not traffic. */
export function isProbeTraffic(userAgent: string | undefined): boolean {
  if (userAgent === undefined) return false
  for (const prefix of NOT_TRAFFIC_USER_AGENTS) if (userAgent.startsWith(prefix)) return true
  return false
}

/**
 * Registers a source of traffic for the coordinator's adaptive drain delay (`drainDelayMs: { minMs, maxMs,
 * quietMs }`). Adapters that accept connections register one and report each new connection's first
 * request (unless {@link isProbeTraffic}). With a fixed delay the arrivals are only counted in the report.
 * A coordinator of a lameduck version without adaptive delays gets a source that does nothing.
 */
export function trafficSource(shutdown: Shutdown, name: string): TrafficSource {
  const make = (shutdown as unknown as { [TRAFFIC_SOURCE]?: () => TrafficFeed })[TRAFFIC_SOURCE]
  const feed: TrafficFeed = typeof make === 'function' ? make.call(shutdown) : { arrived: () => {}, remove: () => {} }
  return { ...registration(name, () => feed.remove()), arrived: feed.arrived }
}
