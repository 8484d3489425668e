// drainGrpcServer against real grpc-js servers and clients on loopback: the health service from the
// trigger, the GOAWAY at the drain, in-flight unary and streaming calls finished, and the budget kept even
// when tryShutdown() never calls back.
import { drainGrpcServer, GRPC_DEFAULTS } from '@lameduck/grpc'
import { afterEach, describe, expect, it } from 'vitest'
import { hiding } from '../../../test/support/adapter-contract.js'
import { delay, memoryLogger, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import {
  check,
  closeAll,
  Echo,
  echoClient,
  echoService,
  grpc,
  healthClient,
  startServer,
  stream,
  unary,
} from './helpers.js'

const { status: Status, connectivityState } = grpc

afterEach(closeAll)

describe('drainGrpcServer: the health service', () => {
  it('answers SERVING, then NOT_SERVING from the trigger while calls are still served through the drain delay', async () => {
    const shutdown = testShutdown({ drainDelayMs: 600 })
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server)
    const probe = healthClient(port)
    const echo = echoClient(port)
    expect(await check(probe)).toBe('SERVING')
    expect(await check(probe, 'lameduck.test.Echo')).toBe(Status.NOT_FOUND)
    drain.health?.setStatus('lameduck.test.Echo', 'SERVING')
    expect(await check(probe, 'lameduck.test.Echo')).toBe('SERVING')
    expect((await unary(echo, 'Unary', { text: 'before' })).code).toBe(Status.OK)

    const run = shutdown.shutdown('test')
    await delay(100)
    expect(await check(probe)).toBe('NOT_SERVING')
    expect(await check(probe, 'lameduck.test.Echo')).toBe('NOT_SERVING')
    // A status set now is kept for the record, but not served: the server is going away.
    drain.health?.setStatus('lameduck.test.Echo', 'SERVING')
    expect(drain.health?.status('lameduck.test.Echo')).toBe('NOT_SERVING')
    expect(await check(probe, 'lameduck.test.Echo')).toBe('NOT_SERVING')
    // The delay: the endpoints may still send clients here, on old connections and on new ones.
    expect((await unary(echo, 'Unary', { text: 'during the delay' })).messages).toMatchObject([
      { text: 'during the delay' },
    ])
    expect((await unary(echoClient(port), 'Unary', { text: 'new connection' })).code).toBe(Status.OK)

    const report = await run
    expect(taskReport(report, GRPC_DEFAULTS.drain.name).outcome).toBe('ok')
  })

  it('answers NOT_SERVING while start-up is pending (as /readyz), SERVING once it is done', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server)
    const probe = healthClient(port)
    expect(await check(probe)).toBe('SERVING')
    let finish!: () => void
    shutdown.startup.task('warm', () => new Promise<void>((resolve) => (finish = resolve)))
    const watch = stream(healthClient(port), 'Watch', { service: '' })
    await watch.first
    expect(await check(probe)).toBe('NOT_SERVING')
    expect(drain.health?.status('')).toBe('NOT_SERVING')
    // A status set during start-up is kept, and served once start-up is done.
    drain.health?.setStatus('lameduck.test.Echo', 'SERVING')
    expect(await check(probe, 'lameduck.test.Echo')).toBe('NOT_SERVING')
    finish()
    await shutdown.startup.done()
    expect(await check(probe)).toBe('SERVING')
    expect(await check(probe, 'lameduck.test.Echo')).toBe('SERVING')
    expect(drain.health?.status('')).toBe('SERVING')
    await delay(50)
    expect(watch.messages.map((m) => (m as { status?: string }).status)).toEqual(['NOT_SERVING', 'SERVING'])
    await shutdown.shutdown('test')
  })

  it('answers NOT_SERVING from the start with a start-up task registered first, and for good when it fails', async () => {
    const shutdown = testShutdown()
    let fail!: (error: Error) => void
    shutdown.startup.task('migrate', () => new Promise<void>((_, reject) => (fail = reject)))
    const { server, port } = await startServer()
    drainGrpcServer(shutdown, server)
    const probe = healthClient(port)
    expect(await check(probe)).toBe('NOT_SERVING')
    fail(new Error('migration failed'))
    expect((await shutdown.startup.done()).state).toBe('failed')
    expect(await check(probe)).toBe('NOT_SERVING')
    await shutdown.shutdown('test')
  })

  it('tells a Watch stream NOT_SERVING at the trigger and ends it (UNAVAILABLE) at the drain, which it does not hold', async () => {
    const shutdown = testShutdown({ drainDelayMs: 200 })
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server, { timeoutMs: 5_000 })
    const watch = stream(healthClient(port), 'Watch', { service: '' })
    await watch.first
    const started = performance.now()
    const report = await shutdown.shutdown('test')
    const ended = await watch.ended
    expect(watch.messages.map((m) => (m as { status?: string }).status)).toEqual(['SERVING', 'NOT_SERVING'])
    expect(ended.code).toBe(Status.UNAVAILABLE)
    expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
    expect(drain.stats).toMatchObject({ watchesEnded: 1, forced: false, callsAtStart: 0 })
    // Far from the 5 s budget: the watch was ended, not waited for.
    expect(performance.now() - started).toBeLessThan(3_000)
  })

  it('health: false serves no health service', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server, { health: false })
    expect(drain.health).toBeUndefined()
    expect(await check(healthClient(port))).toBe(Status.UNIMPLEMENTED)
    await shutdown.shutdown()
  })

  it('remove() takes the health service off the server again', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server)
    const probe = healthClient(port)
    expect(await check(probe)).toBe('SERVING')
    drain.remove()
    expect(await check(probe)).toBe(Status.UNIMPLEMENTED)
    // And it can be served again by a new registration.
    drainGrpcServer(shutdown, server)
    expect(await check(probe)).toBe('SERVING')
    await shutdown.shutdown()
  })
})

describe('drainGrpcServer: the drain', () => {
  it('sends GOAWAY and lets in-flight unary and streaming calls finish; the task ends when they have', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, server)
    const client = echoClient(port)
    const slow = unary(client, 'Unary', { text: 'slow', ms: 600 })
    const counting = stream(client, 'Count', { n: 6, ms: 100 })
    await counting.first
    expect(drain.inFlight()).toBe(2)
    expect(drain.connections()).toBe(1)
    const channel = client.getChannel()
    expect(channel.getConnectivityState(false)).toBe(connectivityState.READY)

    const started = performance.now()
    const run = shutdown.shutdown('test')
    await delay(100)
    // The GOAWAY reached the client: its channel left the connection (it would reconnect for the next call)
    // while both calls still run on it.
    expect(channel.getConnectivityState(false)).not.toBe(connectivityState.READY)
    expect(drain.inFlight()).toBe(2)

    const [unaryOutcome, streamOutcome, report] = await Promise.all([slow, counting.ended, run])
    expect(unaryOutcome).toMatchObject({ code: Status.OK, messages: [{ text: 'slow' }] })
    expect(streamOutcome.code).toBe(Status.OK)
    expect(streamOutcome.messages.map((m) => m.n)).toEqual([0, 1, 2, 3, 4, 5])
    const task = taskReport(report, 'grpc-drain')
    expect(task.outcome).toBe('ok')
    expect(drain.stats).toMatchObject({ sessionsAtStart: 1, callsAtStart: 2, forced: false, callsCut: 0 })
    // It waited for the calls, and no longer.
    expect(task.durationMs).toBeGreaterThanOrEqual(300)
    expect(performance.now() - started).toBeLessThan(GRPC_DEFAULTS.drain.timeoutMs)
    expect(drain.inFlight()).toBe(0)
    expect(drain.connections()).toBe(0)
  })

  it('registered once the server is bound and clients are connected: their new calls are counted, the calls already in flight drained', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const client = echoClient(port)
    const early = unary(client, 'Unary', { ms: 500 })
    await delay(100)
    const drain = drainGrpcServer(shutdown, server)
    expect(drain.connections()).toBe(1)
    expect(drain.inFlight()).toBe(0)
    const late = unary(client, 'Unary', { ms: 300 })
    await delay(100)
    expect(drain.inFlight()).toBe(1)
    const report = await shutdown.shutdown()
    expect((await early).code).toBe(Status.OK)
    expect((await late).code).toBe(Status.OK)
    expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
    expect(drain.stats).toMatchObject({ sessionsAtStart: 1, callsAtStart: 1, forced: false })
  })

  it('stops accepting connections at the drain', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    drainGrpcServer(shutdown, server)
    await shutdown.shutdown()
    const outcome = await unary(echoClient(port), 'Unary', { text: 'too late' })
    expect(outcome.code).toBe(Status.UNAVAILABLE)
  })

  for (const [how, view] of [
    ["with grpc-js's closeServer()", (server: grpc.Server) => server],
    ['without it (the fallback)', (server: grpc.Server) => hiding(server, 'closeServer')],
  ] as const)
    it(`a bindAsync() still in progress at the drain (SIGTERM during start-up): the port it opens is closed at once, not served after the drain — ${how}`, async () => {
      const shutdown = testShutdown()
      const server = new grpc.Server()
      server.addService(Echo.service, echoService)
      drainGrpcServer(shutdown, view(server))
      let bound: Promise<number> | undefined
      shutdown.on('phaseStart', ({ phase }) => {
        if (phase === 'drain')
          bound = new Promise<number>((resolve, reject) =>
            server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
              error ? reject(error) : resolve(port),
            ),
          )
      })
      const report = await shutdown.shutdown()
      expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
      const port = await (bound as Promise<number>)
      await delay(50)
      expect((await unary(echoClient(port), 'Unary', { text: 'after the drain' })).code).toBe(Status.UNAVAILABLE)
      server.forceShutdown()
    })

  it('logs what it drained', async () => {
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger })
    const { server } = await startServer()
    drainGrpcServer(shutdown, server)
    await shutdown.shutdown()
    expect(logger.entries.find((e) => e.fields.event === 'grpc.drained')?.fields).toMatchObject({
      task: 'grpc-drain',
      sessionsAtStart: 0,
      forced: false,
    })
  })

  it('onDrain is called once the GOAWAY is out, with what is open and the deadline; a throwing hook does not stop the drain', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    const seen: unknown[] = []
    drainGrpcServer(shutdown, server, {
      timeoutMs: 2_000,
      onDrain(context) {
        seen.push(context)
        throw new Error('a bug in the hook')
      },
    })
    const slow = unary(echoClient(port), 'Unary', { ms: 300 })
    await delay(100)
    const before = shutdown.clock.now()
    const report = await shutdown.shutdown()
    expect((await slow).code).toBe(Status.OK)
    expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
    expect(seen).toEqual([{ inFlight: 1, sessions: 1, deadline: expect.any(Number) }])
    const { deadline } = seen[0] as { deadline: number }
    expect(deadline).toBeGreaterThan(before + 1_500)
    expect(deadline).toBeLessThanOrEqual(before + 2_100)
  })
  it('an async onDrain that rejects is a bug in the hook like a throwing one: logged, not a run error, the exit code stays 0', async () => {
    const logger = memoryLogger()
    const shutdown = testShutdown({ logger })
    const { server, port } = await startServer()
    let called = 0
    drainGrpcServer(shutdown, server, {
      onDrain: async () => {
        called++
        await delay(10)
        throw new Error('an async bug in the hook')
      },
    })
    const slow = unary(echoClient(port), 'Unary', { ms: 300 })
    await delay(100)
    const report = await shutdown.shutdown()
    expect((await slow).code).toBe(Status.OK)
    expect(called).toBe(1)
    expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
    expect(report.errors).toEqual([])
    expect(report.exitCode).toBe(0)
    expect(logger.entries.find((e) => e.fields.event === 'grpc.onDrain.error')).toMatchObject({
      level: 'warn',
      fields: { task: 'grpc-drain', error: 'an async bug in the hook' },
    })
  })
})

describe("drainGrpcServer: the application's own server.tryShutdown() on SIGTERM", () => {
  // The pattern of every grpc-js service: process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0))).
  // Beside lameduck it sent the GOAWAY and stopped accepting at the signal — refusing the clients the
  // endpoints still send during the drain delay — and its callback exited before flush, close and report.
  for (const order of ['after', 'before'] as const)
    it(`called ${order} the coordinator's handler of the same signal: joins the run — served through the delay, called back once the run is over`, async () => {
      const shutdown = testShutdown({ drainDelayMs: 400 })
      const journal: string[] = []
      shutdown.addTask({ name: 'last-words', phase: 'report', run: () => void journal.push('report phase') })
      const { server, port } = await startServer()
      drainGrpcServer(shutdown, server)
      const slow = unary(echoClient(port), 'Unary', { ms: 600 })
      await delay(50)
      const applications = () =>
        server.tryShutdown((error) => journal.push(`tryShutdown called back${error ? `: ${error.message}` : ''}`))
      if (order === 'before') applications()
      const run = shutdown.shutdown('SIGTERM', { trigger: 'signal' })
      if (order === 'after') applications()
      await delay(150)
      // The drain delay: a new connection is still served.
      expect((await unary(echoClient(port), 'Unary', { text: 'new connection' })).code).toBe(Status.OK)
      const report = await run
      expect((await slow).code).toBe(Status.OK)
      expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
      await delay(50)
      expect(journal).toEqual(['report phase', 'tryShutdown called back'])
    })

  it("called once the drain is over (a task of a later phase): grpc-js's own, called back at once", async () => {
    const shutdown = testShutdown()
    const { server } = await startServer()
    drainGrpcServer(shutdown, server)
    shutdown.addTask({
      name: 'my-close',
      phase: 'close',
      timeoutMs: 2_000,
      run: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    })
    const report = await shutdown.shutdown('SIGTERM', { trigger: 'signal' })
    expect(taskReport(report, 'my-close')).toMatchObject({ outcome: 'ok' })
    expect(taskReport(report, 'my-close').durationMs).toBeLessThan(1_000)
  })

  it("before any trigger it is grpc-js's own: the server shuts down now", async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    drainGrpcServer(shutdown, server)
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()))
    expect((await unary(echoClient(port), 'Unary', {})).code).toBe(Status.UNAVAILABLE)
    expect(shutdown.state).toBe('running')
    await shutdown.shutdown()
  })

  it("remove() puts grpc-js's tryShutdown back", async () => {
    const shutdown = testShutdown()
    const server = new grpc.Server()
    const drain = drainGrpcServer(shutdown, server)
    const other = drainGrpcServer(testShutdown(), server)
    drain.remove()
    expect(Object.hasOwn(server, 'tryShutdown')).toBe(true)
    other.remove()
    expect(Object.hasOwn(server, 'tryShutdown')).toBe(false)
    expect(server.tryShutdown).toBe(grpc.Server.prototype.tryShutdown)
    await shutdown.shutdown()
  })
})

describe('drainGrpcServer: the budget holds when tryShutdown() never calls back', () => {
  // A server stream that never ends keeps its session open: tryShutdown() waits for it for ever.
  for (const [title, options] of [
    ['channelz on (grpc-js default)', {}],
    ['channelz off, where forceShutdown() alone leaves the session open', { 'grpc.enable_channelz': 0 }],
  ] as const)
    it(`${title}: cut at the budget, the client's call CANCELLED, the drain reported forced`, async () => {
      const shutdown = testShutdown()
      const { server, port } = await startServer(options)
      const drain = drainGrpcServer(shutdown, server, { timeoutMs: 500 })
      const forever = stream(echoClient(port), 'Count', { n: -1 })
      await forever.first
      const started = performance.now()
      const report = await shutdown.shutdown()
      const elapsed = performance.now() - started
      const task = taskReport(report, 'grpc-drain')
      expect(task.outcome).toBe('error')
      expect(task.code).toBe('LAMEDUCK_ERR_GRPC_DRAIN_FORCED')
      expect(task.error).toMatch(/cut 1 call\(s\) and 1 HTTP\/2 session\(s\)/)
      expect(drain.stats).toMatchObject({ forced: true, callsCut: 1, sessionsForced: 1, callsAtStart: 1 })
      expect(elapsed).toBeGreaterThanOrEqual(400)
      expect(elapsed).toBeLessThan(2_500)
      expect((await forever.ended).code).toBe(Status.CANCELLED)
      expect(report.exitCode).toBe(1)
    })

  it('the reason for destroying the sessions: with channelz off, forceShutdown() alone leaves the stream open', async () => {
    const { server, port } = await startServer({ 'grpc.enable_channelz': 0 })
    const forever = stream(echoClient(port), 'Count', { n: -1 })
    await forever.first
    let calledBack = false
    server.tryShutdown(() => {
      calledBack = true
    })
    server.forceShutdown()
    const outcome = await Promise.race([forever.ended, delay(500).then(() => 'still open')])
    expect(outcome).toBe('still open')
    expect(calledBack).toBe(false)
  })
})

describe('drainGrpcServer: the adaptive drain delay', () => {
  it('hears of every new call during the delay, and the delay ends once they stop', async () => {
    const shutdown = testShutdown({ drainDelayMs: { minMs: 100, maxMs: 5_000, quietMs: 300 } })
    const { server, port } = await startServer()
    drainGrpcServer(shutdown, server)
    const client = echoClient(port)
    const run = shutdown.shutdown()
    for (let i = 0; i < 5; i++) {
      await unary(client, 'Unary', { text: String(i) })
      await delay(50)
    }
    const report = await run
    expect(report.drainDelay).toMatchObject({ mode: 'adaptive', endedBy: 'quiet', sources: 1 })
    expect(report.drainDelay.arrivals).toBeGreaterThanOrEqual(5)
    expect(report.drainDelay.durationMs).toBeLessThan(3_000)
  })

  it('does not count health checks (the kubelet probes through grpc.health.v1), nor calls from a probe User-Agent', async () => {
    const shutdown = testShutdown({ drainDelayMs: { minMs: 100, maxMs: 5_000, quietMs: 300 } })
    const { server, port } = await startServer()
    drainGrpcServer(shutdown, server)
    const probe = healthClient(port)
    const kubelet = echoClient(port, { 'grpc.primary_user_agent': 'kube-probe/1.34' })
    const run = shutdown.shutdown()
    for (let i = 0; i < 4; i++) {
      await check(probe)
      await unary(kubelet, 'Unary', {})
      await delay(50)
    }
    const report = await run
    expect(report.drainDelay).toMatchObject({ endedBy: 'quiet', arrivals: 0, sources: 1 })
  })
})

describe('drainGrpcServer without grpc-js internals (another grpc-js version)', () => {
  it('warns, and still drains with tryShutdown(): in-flight calls finish', async () => {
    const warnings: string[] = []
    const shutdown = testShutdown()
    shutdown.on('warning', (w) => warnings.push(w.code))
    const { server, port } = await startServer()
    const drain = drainGrpcServer(shutdown, hiding(server, 'http2Servers'))
    expect(warnings).toEqual(['LAMEDUCK_WARN_GRPC_INTERNALS'])
    const slow = unary(echoClient(port), 'Unary', { ms: 300 })
    await delay(100)
    expect(drain.inFlight()).toBe(0)
    const report = await shutdown.shutdown()
    expect((await slow).code).toBe(Status.OK)
    expect(taskReport(report, 'grpc-drain').outcome).toBe('ok')
    expect(drain.stats).toMatchObject({ tracked: false, forced: false })
  })

  it('and cuts at the budget with forceShutdown() when tryShutdown() does not call back', async () => {
    const shutdown = testShutdown()
    const { server, port } = await startServer()
    drainGrpcServer(shutdown, hiding(server, 'http2Servers'), { timeoutMs: 400 })
    const forever = stream(echoClient(port), 'Count', { n: -1 })
    await forever.first
    const report = await shutdown.shutdown()
    const task = taskReport(report, 'grpc-drain')
    expect(task.code).toBe('LAMEDUCK_ERR_GRPC_DRAIN_FORCED')
    expect(task.error).toMatch(/tryShutdown\(\) had not finished/)
    expect((await forever.ended).code).toBe(Status.CANCELLED)
  })
})
