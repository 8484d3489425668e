import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import { instrument, PROMETHEUS_DEFAULTS, pushOnShutdown } from '@lameduck/prometheus'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { describeAdapterContract } from '../../../test/support/adapter-contract.js'
import { fastClock } from '../../../test/support/clock.js'
import { closedAfterEach, listen as listenOn } from '../../../test/support/servers.js'
import { taskNames, taskReport, testShutdown } from '../../../test/support/shutdown.js'

// The kit's contract for pushOnShutdown (its resource: the registry, for one push target), and the same
// policy for instrument, which registers metrics and listeners rather than a task: one coordinator is
// instrumented once per registry.

/** Nothing listens there: a push fails at once (and is not critical). */
const NOWHERE = 'http://127.0.0.1:1'
// The CommonJS build (built first), as an application that requires the package would load it.
const cjs = createRequire(import.meta.url)('@lameduck/prometheus') as typeof import('@lameduck/prometheus')
const pushOf = (registry: object, options?: Record<string, unknown>) =>
  (options === null ? null : { url: NOWHERE, job: 'contract', registry, retries: 0, ...options }) as never

describeAdapterContract('@lameduck/prometheus', [
  {
    where: 'pushOnShutdown',
    defaults: PROMETHEUS_DEFAULTS.push,
    resource: () => new Registry(),
    register: (shutdown, registry, options) => pushOnShutdown(shutdown, pushOf(registry, options)),
    registerCommonJs: (shutdown, registry) => cjs.pushOnShutdown(shutdown, pushOf(registry)),
    members: [],
    durations: { retryDelayMs: {} },
  },
])

describe('pushOnShutdown: what counts as the same push', () => {
  it('the same registry to another gateway, job or grouping is another push; the same target twice is refused', async () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    const push = { url: NOWHERE, job: 'j', registry, retries: 0 }
    expect(pushOnShutdown(shutdown, { ...push, groupings: { instance: 'a', zone: 'z' } }).name).toBe('prometheus-push')
    expect(pushOnShutdown(shutdown, { ...push, url: 'http://127.0.0.1:2' }).name).toBe('prometheus-push-2')
    expect(pushOnShutdown(shutdown, { ...push, job: 'other' }).name).toBe('prometheus-push-3')
    // The order of the grouping labels, or the method, does not make it another push.
    expect(() => pushOnShutdown(shutdown, { ...push, groupings: { zone: 'z', instance: 'a' }, method: 'PUT' })).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
        message: expect.stringMatching(
          /^pushOnShutdown: the push of this registry to http:\/\/127\.0\.0\.1:1 \(job "j"/,
        ),
      }),
    )
    const report = await shutdown.shutdown()
    expect(taskNames(report).sort()).toEqual(['prometheus-push', 'prometheus-push-2', 'prometheus-push-3'])
  })

  // Ten times faster than the wall clock: the budget of 30 s is 3 s of real time. Two retries, 2 s and 4 s
  // apart on the clock, fit in it only if the push waits by the clock; by real timers they would take 6 s.
  it('waits between attempts by the coordinator clock', async () => {
    const answers = [503, 503]
    const gateway = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(answers.shift() ?? 200).end())
    })
    const port = await listen(gateway)
    const shutdown = testShutdown({ clock: fastClock(10), gracePeriodMs: 600_000 })
    pushOnShutdown(shutdown, {
      url: `http://127.0.0.1:${port}`,
      job: 'j',
      registry: new Registry(),
      retryDelayMs: 2_000,
      timeoutMs: 30_000,
    })
    const report = await shutdown.shutdown()
    expect(answers).toEqual([])
    expect(taskReport(report, 'prometheus-push')).toMatchObject({ outcome: 'ok' })
  })
})

describe('instrument: one coordinator, once per registry', () => {
  it('returns the one handle shape: name, remove() (idempotent), [Symbol.dispose], and its registry', () => {
    const registry = new Registry()
    const handle = instrument(testShutdown(), { registry })
    expect(Object.keys(handle).sort()).toEqual(['name', 'registry', 'remove'])
    expect(handle.name).toBe(PROMETHEUS_DEFAULTS.instrumentName)
    expect(handle.registry).toBe(registry)
    expect(typeof handle[Symbol.dispose]).toBe('function')
    handle.remove()
    handle.remove()
    expect(registry.getMetricsAsArray()).toEqual([])
    {
      using _scoped = instrument(testShutdown(), { registry })
      expect(registry.getMetricsAsArray().length).toBeGreaterThan(5)
    }
    expect(registry.getMetricsAsArray()).toEqual([])
  })

  it('the same registry twice for one coordinator is refused — whatever the prefix — until the first is removed', () => {
    const shutdown = testShutdown()
    const registry = new Registry()
    const first = instrument(shutdown, { registry })
    for (const prefix of [undefined, 'other_'])
      expect(() => instrument(shutdown, { registry, prefix })).toThrow(
        expect.objectContaining({
          code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
          message: expect.stringMatching(/^instrument: this registry is already registered on this coordinator/),
        }),
      )
    // The CommonJS build of the package knows it too.
    expect(() => cjs.instrument(shutdown, { registry })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' }),
    )
    // Another registry for the same coordinator is fine.
    expect(() => instrument(shutdown, { registry: new Registry() })).not.toThrow()
    first.remove()
    expect(instrument(shutdown, { registry }).registry).toBe(registry)
  })

  it("another coordinator's metrics in the registry: refused, naming the metric, unless given another prefix", () => {
    const registry = new Registry()
    instrument(testShutdown(), { registry })
    const count = registry.getMetricsAsArray().length
    expect(() => instrument(testShutdown(), { registry })).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_INVALID_OPTION',
        message: expect.stringContaining('already has a metric named lameduck_state'),
      }),
    )
    // Nothing half-registered.
    expect(registry.getMetricsAsArray()).toHaveLength(count)
    instrument(testShutdown(), { registry, prefix: 'worker_' })
    expect(registry.getSingleMetric('worker_state')).toBeDefined()
  })
})

const servers = closedAfterEach()
function listen(server: Server): Promise<number> {
  servers.push(server)
  return listenOn(server)
}
