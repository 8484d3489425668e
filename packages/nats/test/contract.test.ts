// The adapter contract of @lameduck/core/adapter: for drainNats through the shared table-driven suite; for
// consume the same checks written out, because one part of the shared suite cannot hold for it — another
// coordinator taking the same subscription (nats.js lets one reader iterate a subscription: a second consume of
// it is refused, whichever coordinator asks). And what a JavaScript caller can get wrong: one named error each.
import { createRequire } from 'node:module'
import { consume, drainNats, NATS_DEFAULTS } from '@lameduck/nats'
import type { NatsConnection, Subscription } from '@nats-io/transport-node'
import { beforeAll, expect, it } from 'vitest'
import { describeAdapterContract, expectRefused } from '../../../test/support/adapter-contract.js'
import { describeWith } from '../../../test/support/services.js'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { natsConnect, natsV2Connect, testStream, unique } from './helpers.js'

// Built first (pnpm --filter @lameduck/nats build): the CommonJS copy of the package.
const commonJs = createRequire(import.meta.url)('@lameduck/nats') as typeof import('@lameduck/nats')

// Real connections, made before the tests ask for them (the suite wants its resources at once).
let nc: NatsConnection
const spare: NatsConnection[] = []
const connection = (): NatsConnection => {
  const next = spare.pop()
  if (!next) throw new Error('out of connections: make more in beforeAll')
  return next
}
const subscription = (): Subscription => nc.subscribe(`lameduck.contract.${unique()}`)

await describeWith('NATS', '@lameduck/nats: contract and misuse', () => {
  beforeAll(async () => {
    nc = await natsConnect()
    for (let i = 0; i < 24; i++) spare.push(await natsConnect())
  })

  describeAdapterContract('@lameduck/nats', [
    {
      where: 'drainNats',
      defaults: NATS_DEFAULTS.drain,
      resource: () => connection(),
      register: (shutdown, resource, options) => drainNats(shutdown, resource as NatsConnection, options as never),
      members: [],
      registerCommonJs: (shutdown, resource) => commonJs.drainNats(shutdown, resource as NatsConnection),
    },
  ])

  const noop = () => {}
  const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'

  it('consume: the one handle shape, the default name numbered, the same source refused twice', async () => {
    const shutdown = testShutdown()
    const sub = subscription()
    const first = consume(shutdown, sub, noop)
    expect(Object.keys(first).sort()).toEqual(['done', 'inFlight', 'name', 'remove', 'stats'])
    expect(first.name).toBe(NATS_DEFAULTS.consume.name)
    expect(typeof first[Symbol.dispose]).toBe('function')
    await expectRefused(
      () => consume(shutdown, sub, noop),
      'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' as never,
      /consume: this subscription is already registered on this coordinator \(as "nats-consumer"\)/,
    )
    // Through the CommonJS build too: one claim for both copies.
    await expectRefused(
      () => commonJs.consume(shutdown, sub, noop),
      'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' as never,
      /already registered/,
    )
    // Another coordinator: nats.js has one reader per subscription.
    await expectRefused(() => consume(testShutdown(), sub, noop), INVALID, /something already reads this subscription/)
    const second = consume(shutdown, subscription(), noop, { phase: 'report', critical: false })
    expect(second.name).toBe(`${NATS_DEFAULTS.consume.name}-2`)
    expect(() => consume(shutdown, subscription(), noop, { name: 'nats-consumer' })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }),
    )
    first.remove()
    first.remove()
    {
      using scoped = consume(shutdown, subscription(), noop, { name: 'scoped' })
      expect(scoped.name).toBe('scoped')
    }
    const report = await shutdown.shutdown()
    expect(report.phases.flatMap((p) => p.tasks.map((t) => t.name))).toEqual(['nats-consumer-2'])
    expect(taskReport(report, 'nats-consumer-2').phase).toBe('report')
  })

  it('consume: durations, task options and unknown options refused with the shared codes', async () => {
    const shutdown = testShutdown()
    const sub = subscription()
    for (const option of ['timeoutMs', 'abortGraceMs', 'retryDelayMs'])
      for (const wrong of [null, -1, Number.NaN, '10', 2 ** 31, Number.POSITIVE_INFINITY])
        await expectRefused(
          () => consume(shutdown, sub, noop, { [option]: wrong }),
          'LAMEDUCK_ERR_INVALID_DURATION',
          new RegExp(`${option} of consume`),
        )
    await expectRefused(
      () => consume(shutdown, sub, noop, { timeout: 100 } as never),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /consume: unknown option "timeout" — did you mean "timeoutMs"\?/,
    )
    await expectRefused(
      () => consume(shutdown, sub, noop, { phase: 'cleanup' } as never),
      'LAMEDUCK_ERR_UNKNOWN_PHASE' as never,
      /phase of consume/,
    )
    await expectRefused(
      () => consume(shutdown, sub, noop, { critical: 'yes' } as never),
      INVALID,
      /critical of consume/,
    )
    await expectRefused(() => consume(shutdown, sub, noop, null as never), INVALID, /consume/)
    for (const notCoordinator of [undefined, {}, sub])
      await expectRefused(
        () => consume(notCoordinator as never, sub, noop),
        INVALID,
        /shutdown argument of consume.*consume\(shutdown, source, handler, options\?\)/,
      )
    await shutdown.shutdown()
  })

  it('consume: refuses what it cannot stop cleanly, naming what was passed', async () => {
    const shutdown = testShutdown()
    const call =
      (source: unknown, handler: unknown = noop, options?: unknown) =>
      () =>
        consume(shutdown, source as never, handler as never, options as never)
    await expectRefused(
      call(nc),
      INVALID,
      /source argument of consume: expected a NATS subscription, a JetStream pull consumer or the messages of its consume\(\); got /,
    )
    for (const nothing of [undefined, null, 'orders'])
      await expectRefused(call(nothing), INVALID, /source argument of consume/)
    const withCallback = nc.subscribe(`lameduck.contract.${unique()}`, { callback: noop })
    await expectRefused(call(withCallback), INVALID, /a subscription made with a callback: subscribe without one/)
    // Something else already reads it.
    const read = subscription()
    const iterator = read[Symbol.asyncIterator]()
    void iterator.next()
    await expectRefused(call(read), INVALID, /something already reads this subscription/)
    read.unsubscribe()
    await expectRefused(
      call({ consume: noop, info: noop }),
      INVALID,
      /a JetStream push consumer \(it has no fetch\(\)\)/,
    )
    await expectRefused(call(subscription(), 'handler'), INVALID, /handler argument of consume: expected a function/)
    // JetStream's options on a core subscription.
    await expectRefused(
      call(subscription(), noop, { buffered: 'nak' }),
      INVALID,
      /buffered of consume: a JetStream option, and this is a core NATS subscription \(core NATS cannot give messages back/,
    )
    await expectRefused(call(subscription(), noop, { ack: 'manual' }), INVALID, /ack of consume: a JetStream option/)
    await expectRefused(
      call(subscription(), noop, { concurrency: 0 }),
      INVALID,
      /concurrency of consume: expected an integer of at least 1; got 0/,
    )
    await expectRefused(
      call(subscription(), noop, { onError: 'log' }),
      INVALID,
      /onError of consume: expected a function/,
    )
    await shutdown.shutdown()
  })

  it('consume: JetStream sources — a consumer, its messages, the v2 legacy subscription refused', async () => {
    const stream = await testStream(nc)
    const consumer = await stream.consumer()
    const shutdown = testShutdown()
    const call = (source: unknown, options?: unknown) => () =>
      consume(shutdown, source as never, noop, options as never)
    await expectRefused(
      call(consumer, { ack: 'sometimes' }),
      INVALID,
      /ack of consume: expected one of "auto", "manual"; got "sometimes"/,
    )
    await expectRefused(
      call(consumer, { buffered: 'drop' }),
      INVALID,
      /buffered of consume: expected one of "process", "nak"/,
    )
    await expectRefused(call(consumer, { consumeOptions: 5 }), INVALID, /consumeOptions of consume: expected an object/)
    const messages = await consumer.consume()
    await expectRefused(
      call(messages, { consumeOptions: { max_messages: 5 } }),
      INVALID,
      /these messages come from a consume\(\) already called/,
    )
    const withCallback = await (await stream.consumer()).consume({ callback: noop })
    await expectRefused(call(withCallback), INVALID, /the messages of a consume\(\) made with a callback/)
    withCallback.stop()
    const v2 = await natsV2Connect()
    const legacy = await v2.jetstream().pullSubscribe(stream.subject, { config: { durable_name: 'legacy' } })
    await expectRefused(
      call(legacy),
      INVALID,
      /a JetStream subscription of the legacy API \(js\.subscribe \/ js\.pullSubscribe\)/,
    )
    legacy.unsubscribe()
    consume(shutdown, messages, noop)
    expect((await shutdown.shutdown()).exitCode).toBe(0)
  })

  it('drainNats: refuses what is not a connection', async () => {
    const shutdown = testShutdown()
    await expectRefused(
      () => drainNats(shutdown, subscription() as never),
      INVALID,
      /nc argument of drainNats: expected a NatsConnection of nats\.js; got .*which has no flush\(\) method/,
    )
    await expectRefused(
      () => drainNats(nc as never, nc),
      INVALID,
      /shutdown argument of drainNats.*drainNats\(shutdown, nc, options\?\)/,
    )
    await expectRefused(
      () => drainNats(shutdown, nc, { timeoutMs: 100, drain: true } as never),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /drainNats: unknown option "drain"/,
    )
  })
})
