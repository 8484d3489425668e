// Misuse caught when the function is called, for JavaScript callers who get no type check: unknown option
// keys ("did you mean"), null refused like any other wrong type (it never means "the default"), every
// duration within what Node's timers hold, wrong positional arguments and sources — each with one code per
// mistake (core's) and a message that names what was passed.
import { LameduckError, type Shutdown } from '@lameduck/core'
import { instrument, metricsHandler, metricsMiddleware, pushOnShutdown } from '@lameduck/prometheus'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

const TOO_LONG = 2 ** 31 // one past MAX_TIMER_MS: Node would fire such a timer after 1 ms
const push = { url: 'http://127.0.0.1:9091', job: 'j' }
const fresh = () => new Registry()

type Code =
  | 'LAMEDUCK_ERR_UNKNOWN_OPTION'
  | 'LAMEDUCK_ERR_INVALID_OPTION'
  | 'LAMEDUCK_ERR_INVALID_DURATION'
  | 'LAMEDUCK_ERR_UNKNOWN_PHASE'
type Case = [title: string, call: (shutdown: Shutdown) => unknown, code: Code, message: RegExp]

function expectRefused(call: () => unknown, code: Code, message: RegExp): void {
  let thrown: unknown
  try {
    call()
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'accepted').toBeInstanceOf(LameduckError)
  expect((thrown as LameduckError).code, (thrown as Error).message).toBe(code)
  expect((thrown as Error).message).toMatch(message)
}

// biome-ignore format: one case a line
const instrumentCases: Case[] = [
  ['register (for registry)', (s) => instrument(s, { register: fresh() } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /instrument: unknown option "register" — did you mean "registry"\?/],
  ['cache (for caches)', (s) => instrument(s, { registry: fresh(), cache: [] } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "caches"/],
  ['options null', (s) => instrument(s, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /instrument options/],
  ['registry null', (s) => instrument(s, { registry: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /registry of instrument: expected a prom-client Registry; got null/],
  ['registry the prom-client module', (s) => instrument(s, { registry: {} } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got an object/],
  ['prefix null', (s) => instrument(s, { registry: fresh(), prefix: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /prefix of instrument: .*got null/],
  ['prefix with a dash', (s) => instrument(s, { registry: fresh(), prefix: 'my-app_' }), 'LAMEDUCK_ERR_INVALID_OPTION', /got "my-app_"/],
  ['http a server, not a map', (s) => instrument(s, { registry: fresh(), http: [] } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /http of instrument: expected an object of HTTP drains by server name.*got an array/],
  ['http.app the server itself', (s) => instrument(s, { registry: fresh(), http: { app: { listen() {} } } } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /http\.app of instrument: expected what drainHttpServer returns.*got an object/],
  ['caches a single cache', (s) => instrument(s, { registry: fresh(), caches: { name: 'c', dirty: 0, stats: () => ({}) } } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /caches of instrument: expected an array/],
  ['caches[0] null', (s) => instrument(s, { registry: fresh(), caches: [null] } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /caches\[0\] of instrument: .*got null/],
  ['locks.redis the Redis client', (s) => instrument(s, { registry: fresh(), locks: { redis: { get() {} } } } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /locks\.redis of instrument: expected what createLocks or createAdvisoryLocks returns \(held\(\)\); got an object/],
  ['no coordinator', () => instrument(undefined as never, { registry: fresh() }), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of instrument: expected the coordinator createShutdown\(\) returns; got undefined/],
  ['options as the first argument', () => instrument({ registry: fresh() } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of instrument: .*got an object/],
]

// biome-ignore format: one case a line
const handlerCases: Case[] = [
  ['metricsHandler: metricsPath (for path)', () => metricsHandler({ metricsPath: '/m' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /metricsHandler: unknown option "metricsPath"/],
  ['metricsHandler: Path (case)', () => metricsHandler({ Path: '/m' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "path"/],
  ['metricsHandler: path null', () => metricsHandler({ path: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /path of metricsHandler: .*got null/],
  ['metricsHandler: path without /', () => metricsHandler({ path: 'metrics' }), 'LAMEDUCK_ERR_INVALID_OPTION', /path of metricsHandler: expected a path starting with "\/".*got "metrics"/],
  ['metricsHandler: registry null', () => metricsHandler({ registry: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /registry of metricsHandler: .*got null/],
  ['metricsHandler: options null', () => metricsHandler(null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /metricsHandler options/],
  ['metricsMiddleware: paths (typo)', () => metricsMiddleware({ paths: '/m' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /metricsMiddleware: unknown option "paths" — did you mean "path"\?/],
  ['metricsMiddleware: path a number', () => metricsMiddleware({ path: 9090 } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /path of metricsMiddleware: .*got 9090/],
]

// biome-ignore format: one case a line
const pushCases: Case[] = [
  ['timeout (for timeoutMs)', (s) => pushOnShutdown(s, { ...push, timeout: 100 } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /pushOnShutdown: unknown option "timeout" — did you mean "timeoutMs"\?/],
  ['grouping (for groupings)', (s) => pushOnShutdown(s, { ...push, grouping: {} } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /did you mean "groupings"/],
  ['jobName (prom-client\'s name)', (s) => pushOnShutdown(s, { url: push.url, jobName: 'j' } as never), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "jobName"/],
  ['no options', (s) => pushOnShutdown(s, undefined as never), 'LAMEDUCK_ERR_INVALID_OPTION', /options of pushOnShutdown: expected \{ url, job \}.*got undefined/],
  ['options null', (s) => pushOnShutdown(s, null as never), 'LAMEDUCK_ERR_INVALID_OPTION', /pushOnShutdown options/],
  ['url without a scheme', (s) => pushOnShutdown(s, { ...push, url: 'pushgateway:9091' }), 'LAMEDUCK_ERR_INVALID_OPTION', /url of pushOnShutdown: .*got "pushgateway:9091"/],
  ['job null', (s) => pushOnShutdown(s, { ...push, job: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /job of pushOnShutdown: .*got null/],
  ['timeoutMs null', (s) => pushOnShutdown(s, { ...push, timeoutMs: null } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of pushOnShutdown .*got null/],
  ['timeoutMs past 2^31-1', (s) => pushOnShutdown(s, { ...push, timeoutMs: TOO_LONG }), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of pushOnShutdown must be at most 2147483647 ms.*got 2147483648/],
  ['timeoutMs "2s"', (s) => pushOnShutdown(s, { ...push, timeoutMs: '2s' } as never), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of pushOnShutdown .*got "2s"/],
  ['retries null', (s) => pushOnShutdown(s, { ...push, retries: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /retries of pushOnShutdown: .*got null/],
  ['retries -1', (s) => pushOnShutdown(s, { ...push, retries: -1 }), 'LAMEDUCK_ERR_INVALID_OPTION', /got -1/],
  ['retries 1.5', (s) => pushOnShutdown(s, { ...push, retries: 1.5 }), 'LAMEDUCK_ERR_INVALID_OPTION', /retries of pushOnShutdown: expected an integer/],
  ['retryDelayMs -1', (s) => pushOnShutdown(s, { ...push, retryDelayMs: -1 }), 'LAMEDUCK_ERR_INVALID_DURATION', /retryDelayMs of pushOnShutdown must be/],
  ['phase "later"', (s) => pushOnShutdown(s, { ...push, phase: 'later' } as never), 'LAMEDUCK_ERR_UNKNOWN_PHASE', /phase of pushOnShutdown/],
  ['method null', (s) => pushOnShutdown(s, { ...push, method: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /method of pushOnShutdown: expected one of "POST", "PUT"; got null/],
  ['method "post"', (s) => pushOnShutdown(s, { ...push, method: 'post' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /got "post"/],
  ['critical null', (s) => pushOnShutdown(s, { ...push, critical: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /critical of pushOnShutdown: .*got null/],
  ['name null', (s) => pushOnShutdown(s, { ...push, name: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /name of pushOnShutdown: .*got null/],
  ['registry null', (s) => pushOnShutdown(s, { ...push, registry: null } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /registry of pushOnShutdown: .*got null/],
  ['groupings a string', (s) => pushOnShutdown(s, { ...push, groupings: 'pod-1' } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /groupings of pushOnShutdown: .*got "pod-1"/],
  ['groupings.instance undefined', (s) => pushOnShutdown(s, { ...push, groupings: { instance: undefined } } as never), 'LAMEDUCK_ERR_INVALID_OPTION', /groupings\.instance of pushOnShutdown: expected a string label value; got undefined/],
  ['no coordinator', () => pushOnShutdown(undefined as never, push), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of pushOnShutdown: .*got undefined/],
  ['options as the first argument', () => pushOnShutdown(push as never, undefined as never), 'LAMEDUCK_ERR_INVALID_OPTION', /shutdown argument of pushOnShutdown: .*got an object/],
]

describe('@lameduck/prometheus refuses misuse when called', () => {
  for (const [fn, cases] of [
    ['instrument', instrumentCases],
    ['handlers', handlerCases],
    ['pushOnShutdown', pushCases],
  ] as const)
    it.each(cases)(`${fn}: %s`, (_title, call, code, message) =>
      expectRefused(() => call(testShutdown()), code, message),
    )

  it('accepts the documented options, undefined meaning the default', () => {
    const shutdown = testShutdown()
    instrument(shutdown, {
      registry: fresh(),
      prefix: undefined,
      http: {},
      caches: [],
      locks: { none: { held: () => 0 } },
    })
    metricsHandler({ registry: undefined, path: '/m' })
    pushOnShutdown(shutdown, { ...push, registry: fresh(), timeoutMs: 2 ** 31 - 1, retries: 0, method: undefined })
    pushOnShutdown(shutdown, { ...push, registry: fresh(), retries: Number.POSITIVE_INFINITY, retryDelayMs: 0 })
    expect(shutdown.plan()).toBeDefined()
  })
})
