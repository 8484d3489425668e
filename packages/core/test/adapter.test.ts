import { createRequire } from 'node:module'
import {
  addNumbered,
  checkedTaskOptions,
  claimRequests,
  count,
  DuplicateRegistrationError,
  duration,
  handOverSocket,
  hasMethods,
  isShutdown,
  linkSignals,
  poll,
  registerTask,
  requestClaim,
  requireClient,
  requireShutdown,
  settleBy,
  shared,
  sleep,
  socketOwner,
  spread,
  string,
  taskOptions,
  unknownFlag,
} from '@lameduck/core/adapter'
import { describe, expect, it } from 'vitest'
import { testShutdown } from './helpers.js'
import { manualClock } from './manual-clock.js'

const DEFAULTS = { name: 'thing', phase: 'close', timeoutMs: 1000, critical: true } as const

describe('registerTask: one naming and duplicate policy for every adapter', () => {
  it('numbers the default name, refuses a chosen name that is taken, and returns the one handle shape', async () => {
    const shutdown = testShutdown()
    const run = () => {}
    const a = registerTask(shutdown, { where: 'thingOf', task: taskOptions('thingOf', undefined, DEFAULTS), run })
    const b = registerTask(shutdown, { where: 'thingOf', task: taskOptions('thingOf', {}, DEFAULTS), run })
    expect([a.name, b.name]).toEqual(['thing', 'thing-2'])
    expect(() =>
      registerTask(shutdown, { where: 'thingOf', task: taskOptions('thingOf', { name: 'thing' }, DEFAULTS), run }),
    ).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }))
    expect(Object.keys(a).sort()).toEqual(['name', 'remove'])
    expect(typeof a[Symbol.dispose]).toBe('function')
    a.remove()
    a.remove()
    const c = registerTask(shutdown, { where: 'thingOf', task: taskOptions('thingOf', {}, DEFAULTS), run })
    expect(c.name).toBe('thing')
    const report = await shutdown.shutdown()
    expect(report.phases.flatMap((p) => p.tasks.map((t) => t.name)).sort()).toEqual(['thing', 'thing-2'])
  })

  it('addNumbered: the same policy for an exit flush (or anything else registered by name)', () => {
    const shutdown = testShutdown()
    const flush = (name: string) => shutdown.addExitFlush({ name, run: () => {} })
    expect([addNumbered('logs', false, flush).name, addNumbered('logs', false, flush).name]).toEqual(['logs', 'logs-2'])
    expect(() => addNumbered('logs', true, flush)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }),
    )
    // Any other error is not a taken name: thrown at once, not retried under another.
    let calls = 0
    expect(() =>
      addNumbered('bad', false, () => {
        calls++
        throw new TypeError('not a name')
      }),
    ).toThrow(TypeError)
    expect(calls).toBe(1)
  })

  it('refuses the same resource twice for the same adapter until the first registration is removed', () => {
    const shutdown = testShutdown()
    const pool = {}
    let removed = 0
    const spec = () => ({
      where: 'closeThing',
      task: taskOptions('closeThing', {}, DEFAULTS),
      run: () => {},
      resource: pool,
      resourceLabel: 'this pool',
      onRemove: () => removed++,
    })
    const first = registerTask(shutdown, spec())
    expect(() => registerTask(shutdown, spec())).toThrow(DuplicateRegistrationError)
    expect(() => registerTask(shutdown, spec())).toThrow(/closeThing: this pool is already registered .*as "thing"/)
    // Another coordinator, or another adapter, may take the same object.
    expect(() => registerTask(testShutdown(), spec())).not.toThrow()
    expect(() => registerTask(shutdown, { ...spec(), where: 'otherAdapter' })).not.toThrow()
    first.remove()
    first.remove()
    expect(removed).toBe(1)
    expect(registerTask(shutdown, spec()).name).toBe('thing')
  })

  it('remove() while the phase of the task runs does nothing: the run keeps the task and the adapter its listeners', async () => {
    const shutdown = testShutdown()
    let removed = 0
    let reg: ReturnType<typeof registerTask> | undefined
    let ran = false
    reg = registerTask(shutdown, {
      where: 'drainThing',
      task: taskOptions('drainThing', { phase: 'drain' }, DEFAULTS),
      resource: {},
      onRemove: () => removed++,
      run: async () => {
        reg?.remove()
        await sleep(20)
        ran = true
      },
    })
    const report = await shutdown.shutdown()
    expect(ran).toBe(true)
    expect(removed).toBe(0)
    expect(report.phases.find((p) => p.name === 'drain')?.tasks.map((t) => t.outcome)).toEqual(['ok'])
    // After the phase, remove() cleans up (once).
    reg.remove()
    reg.remove()
    expect(removed).toBe(1)
  })

  it('claims made through the CommonJS build hold for the ESM one (one process, both copies loaded)', () => {
    const require = createRequire(import.meta.url)
    const cjs = require('@lameduck/core/adapter') as typeof import('@lameduck/core/adapter')
    const shutdown = testShutdown()
    const server = {}
    cjs.registerTask(shutdown, {
      where: 'drainThing',
      task: cjs.taskOptions('drainThing', {}, DEFAULTS),
      run: () => {},
      resource: server,
    })
    expect(() =>
      registerTask(shutdown, {
        where: 'drainThing',
        task: taskOptions('drainThing', {}, DEFAULTS),
        run: () => {},
        resource: server,
      }),
    ).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' }))
    expect(cjs.shared('test:one-value', () => ({ n: 1 }))).toBe(shared('test:one-value', () => ({ n: 2 })))
  })
})

describe('validators: one error code per mistake', () => {
  it('gives LAMEDUCK_ERR_INVALID_DURATION for every wrong duration and names the option and the value', () => {
    for (const wrong of [null, -1, Number.NaN, '10', 2 ** 31, Number.POSITIVE_INFINITY])
      expect(() => duration('timeoutMs of closeThing', wrong, 5)).toThrow(
        expect.objectContaining({
          code: 'LAMEDUCK_ERR_INVALID_DURATION',
          message: expect.stringContaining('timeoutMs of closeThing'),
        }),
      )
    expect(duration('x', undefined, 5)).toBe(5)
    expect(duration('ttlMs of x', 0)).toBe(0)
    expect(() => duration('ttlMs of x', 0, undefined, { positive: true })).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_INVALID_DURATION',
        message: expect.stringContaining('greater than 0'),
      }),
    )
    expect(string('keyPrefix of x', '', 'p:')).toBe('')
    expect(string('keyPrefix of x', undefined, 'p:')).toBe('p:')
    expect(() => string('keyPrefix of x', null, 'p:')).toThrow(/keyPrefix of x: expected a string; got null/)
    expect(() => taskOptions('closeThing', { timeoutMs: -1 }, DEFAULTS)).toThrow(/timeoutMs of closeThing/)
    expect(() => taskOptions('closeThing', { phase: 'later' as never }, DEFAULTS)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_UNKNOWN_PHASE',
        message: expect.stringContaining('phase of closeThing'),
      }),
    )
    expect(() => taskOptions('closeThing', { critical: 'yes' as never }, DEFAULTS)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    expect(() => taskOptions('closeThing', { name: '  ' }, DEFAULTS)).toThrow(/name of closeThing/)
  })

  it('counts, clients and the coordinator argument name what was passed', () => {
    expect(() => count('maxBatch of x', 1.5, 10, { min: 1 })).toThrow(/expected an integer of at least 1.*got 1.5/)
    expect(count('maxEntries of x', Number.POSITIVE_INFINITY, 10, { min: 1, infinite: true })).toBe(
      Number.POSITIVE_INFINITY,
    )
    expect(() => count('concurrency of x', Number.POSITIVE_INFINITY, 10, { min: 1 })).toThrow(
      /expected an integer of at least 1; got Infinity/,
    )
    expect(() => requireClient('client of closeThing', { end: 1 }, 'a pg Pool', ['end'])).toThrow(
      /has no end\(\) method/,
    )
    expect(() => requireShutdown('closeThing', {})).toThrow(
      /the coordinator comes first: closeThing\(shutdown, options\?\)/,
    )
    const shutdown = testShutdown()
    expect(requireShutdown('closeThing', shutdown)).toBe(shutdown)
  })

  it('checkedTaskOptions refuses a key that is not a task option, then validates the four', () => {
    expect(checkedTaskOptions('closeThing', { timeoutMs: 50 }, DEFAULTS)).toMatchObject({ timeoutMs: 50, named: false })
    expect(() => checkedTaskOptions('closeThing', { timeoutMS: 50 } as never, DEFAULTS)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION', message: expect.stringContaining('"timeoutMs"') }),
    )
    expect(() => checkedTaskOptions('closeThing', { timeoutMs: -1 }, DEFAULTS)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    expect(() => checkedTaskOptions('closeThing', 'fast' as never, DEFAULTS)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
  })

  it('hasMethods and isShutdown check by shape', () => {
    expect(hasMethods({ end() {}, on() {} }, ['end', 'on'])).toBe(true)
    expect(hasMethods({ end() {}, on: 1 }, ['end', 'on'])).toBe(false)
    expect(
      hasMethods(
        Object.assign(() => {}, { listen() {} }),
        ['listen'],
      ),
    ).toBe(true)
    for (const wrong of [null, undefined, 'end', 3]) expect(hasMethods(wrong, ['end'])).toBe(false)
    const shutdown = testShutdown()
    expect(isShutdown(shutdown)).toBe(true)
    expect(isShutdown({ ...shutdown, addTask: shutdown.addTask, config: null })).toBe(false)
    expect(isShutdown({})).toBe(false)
  })

  it('unknownFlag names the nearest flag and lists them all', () => {
    const error = unknownFlag('lameduck-thing', 'gracee', ['grace', 'port'])
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION', suggestion: '--grace' })
    expect(error.message).toBe(
      'lameduck-thing: unknown option "--gracee" — did you mean "--grace"? (known: --grace, --port)',
    )
    expect(unknownFlag('lameduck-thing', 'zzzzzz', ['grace']).suggestion).toBeUndefined()
  })
})

describe('timing helpers run on the coordinator clock', () => {
  it('sleep resolves true when the clock passes and false on abort, never rejecting', async () => {
    const clock = manualClock()
    const slept = sleep(1000, { clock })
    clock.advance(999)
    let done = false
    void slept.then(() => (done = true))
    await Promise.resolve()
    expect(done).toBe(false)
    clock.advance(1)
    await expect(slept).resolves.toBe(true)
    const controller = new AbortController()
    const aborted = sleep(1000, { clock, signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(aborted).resolves.toBe(false)
    expect(clock.pending()).toBe(0)
    await expect(sleep(10, { clock, signal: controller.signal })).resolves.toBe(false)
  })

  it('settleBy gives the value in time, why it stopped otherwise, and swallows a late rejection', async () => {
    const clock = manualClock()
    await expect(settleBy(Promise.resolve(7), clock.now(), { clock })).resolves.toEqual({ done: true, value: 7 })
    let fail!: (e: Error) => void
    const late = settleBy(new Promise((_, reject) => (fail = reject)), clock.now() + 100, { clock })
    clock.advance(100)
    await expect(late).resolves.toEqual({ done: false, why: 'deadline' })
    fail(new Error('late'))
    const controller = new AbortController()
    const aborted = settleBy(new Promise(() => {}), Number.POSITIVE_INFINITY, { clock, signal: controller.signal })
    controller.abort()
    await expect(aborted).resolves.toEqual({ done: false, why: 'aborted' })
    await expect(settleBy(Promise.reject(new Error('early')), clock.now() + 100, { clock })).rejects.toThrow('early')
    expect(clock.pending()).toBe(0)
  })

  it('poll checks until true, until the cutoff (one last check) or until abort', async () => {
    const clock = manualClock()
    let n = 0
    const polled = poll(() => ++n >= 3, { clock, everyMs: 10, until: clock.now() + 1000 })
    clock.advance(10)
    clock.advance(10)
    await expect(polled).resolves.toBe(true)
    expect(n).toBe(3)
    const never = poll(() => false, { clock, everyMs: 10, until: clock.now() + 25 })
    clock.advance(30)
    await expect(never).resolves.toBe(false)
    expect(clock.pending()).toBe(0)
  })

  it('linkSignals aborts with the first source reason or at its deadline, and dispose removes everything', () => {
    const clock = manualClock()
    const source = new AbortController()
    const linked = linkSignals([source.signal, undefined], { clock, until: clock.now() + 50 })
    const reason = new Error('task budget')
    source.abort(reason)
    expect(linked.signal.reason).toBe(reason)
    expect(clock.pending()).toBe(0)
    const timed = linkSignals([new AbortController().signal], { clock, until: clock.now() + 50 })
    clock.advance(50)
    expect(timed.signal.aborted).toBe(true)
    expect((timed.signal.reason as DOMException).name).toBe('TimeoutError')
    const kept = new AbortController()
    const disposed = linkSignals([kept.signal], { clock, until: clock.now() + 50 })
    disposed.dispose()
    kept.abort()
    clock.advance(100)
    expect(disposed.signal.aborted).toBe(false)
  })
})

describe('spread: calls spread evenly over a window, on the coordinator clock', () => {
  it('hands item i of n over at start + i × window / n, in order, one timer at a time', async () => {
    const clock = manualClock()
    const start = clock.now()
    const calls: [string, number, number][] = []
    const items = Array.from({ length: 10 }, (_, i) => `item-${i}`)
    const spreading = spread(items, { windowMs: 1000, clock }, (item, i) => calls.push([item, i, clock.now() - start]))
    // The first at once, synchronously.
    expect(calls).toEqual([['item-0', 0, 0]])
    for (let step = 0; step < 10; step++) {
      expect(clock.pending()).toBeLessThanOrEqual(1)
      clock.advance(100)
    }
    await expect(spreading).resolves.toEqual({ done: 10, left: [] })
    expect(calls).toEqual(items.map((item, i) => [item, i, i * 100]))
    expect(clock.pending()).toBe(0)
  })

  it('more items than milliseconds: every item due when the timer fires goes in that turn', async () => {
    const clock = manualClock()
    const at: number[] = []
    const start = clock.now()
    const spreading = spread(
      Array.from({ length: 1000 }, (_, i) => i),
      { windowMs: 100, clock },
      () => at.push(clock.now() - start),
    )
    clock.advance(100)
    await expect(spreading).resolves.toMatchObject({ done: 1000 })
    // Item i is due at i / 10 ms and goes in the first 1 ms turn at or after that: 10 a turn, none early.
    const perTurn = Array.from({ length: 101 }, (_, ms) => at.filter((t) => t === ms).length)
    expect(perTurn).toEqual([1, ...Array.from({ length: 99 }, () => 10), 9])
  })

  it('a window of 0 hands everything over at once; no items resolves at once', async () => {
    const seen: number[] = []
    const all = spread([1, 2, 3], { windowMs: 0 }, (n) => seen.push(n))
    expect(seen).toEqual([1, 2, 3])
    await expect(all).resolves.toEqual({ done: 3, left: [] })
    await expect(spread([], { windowMs: 1000 }, () => {})).resolves.toEqual({ done: 0, left: [] })
  })

  it('stops on abort with the items left, never rejecting; a signal already aborted hands nothing over', async () => {
    const clock = manualClock()
    const controller = new AbortController()
    const seen: number[] = []
    const spreading = spread([1, 2, 3, 4], { windowMs: 400, clock, signal: controller.signal }, (n) => seen.push(n))
    clock.advance(100)
    controller.abort(new Error('budget'))
    await expect(spreading).resolves.toEqual({ done: 2, left: [3, 4] })
    expect(clock.pending()).toBe(0)
    clock.advance(1000)
    expect(seen).toEqual([1, 2])
    await expect(spread([1], { windowMs: 10, signal: controller.signal }, () => seen.push(9))).resolves.toEqual({
      done: 0,
      left: [1],
    })
    expect(seen).toEqual([1, 2])
    // fn itself aborting (a deadline it noticed): the rest is left.
    const own = new AbortController()
    await expect(
      spread([1, 2, 3], { windowMs: 0, signal: own.signal }, (n) => n === 2 && own.abort()),
    ).resolves.toEqual({ done: 2, left: [3] })
  })

  it('a throw of fn rejects, and the items after it are not handed over', async () => {
    const clock = manualClock()
    const seen: number[] = []
    const spreading = spread([1, 2, 3], { windowMs: 300, clock }, (n) => {
      seen.push(n)
      if (n === 2) throw new Error('boom')
    })
    clock.advance(300)
    await expect(spreading).rejects.toThrow('boom')
    expect(seen).toEqual([1, 2])
    expect(clock.pending()).toBe(0)
  })

  it('refuses a window that is not a duration, and a fn that is not a function', () => {
    for (const windowMs of [-1, Number.NaN, '10', null])
      expect(() => spread([1], { windowMs: windowMs as number }, () => {})).toThrow(
        expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
      )
    expect(() => spread([1], { windowMs: 1 }, 5 as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
  })
})

describe('handOverSocket: an upgraded socket another adapter closes', () => {
  it('names its owner while the owner is active, and nobody once it is not', () => {
    const socket = {}
    expect(socketOwner(socket)).toBeUndefined()
    const owner = { name: 'ws-close', active: true }
    handOverSocket(socket, owner)
    expect(socketOwner(socket)).toBe(owner)
    owner.active = false
    expect(socketOwner(socket)).toBeUndefined()
  })
})

describe('claimRequests: requests another adapter answers for, claimed before the HTTP drain decides', () => {
  it('the first active claim that matches owns the request, and its socket is handed over to it', () => {
    const server = {}
    const polls = { name: 'socket.io-close', active: true }
    const streams = { name: 'event-streams', active: true }
    const offPolls = claimRequests(server, polls, (req) => req.url?.startsWith('/socket.io/') === true)
    claimRequests(server, streams, (req) => req.headers.accept === 'text/event-stream')
    const socket = {}
    expect(requestClaim(server, { url: '/socket.io/?EIO=4', headers: {}, socket })).toBe(polls)
    expect(socketOwner(socket)).toBe(polls)
    expect(requestClaim(server, { url: '/events', headers: { accept: 'text/event-stream' } })).toBe(streams)
    expect(requestClaim(server, { url: '/other', headers: {} })).toBeUndefined()
    expect(requestClaim({}, { url: '/socket.io/', headers: {} })).toBeUndefined()
    // An inactive owner claims nothing; a withdrawn claim neither (withdrawing twice is harmless).
    polls.active = false
    expect(requestClaim(server, { url: '/socket.io/', headers: {}, socket: {} })).toBeUndefined()
    polls.active = true
    offPolls()
    offPolls()
    expect(requestClaim(server, { url: '/socket.io/', headers: {} })).toBeUndefined()
  })
})

describe('error identity across copies of core', () => {
  it('instanceof holds for an error of the CommonJS copy, through the whole class chain, and not for others', async () => {
    const require = createRequire(import.meta.url)
    const cjs = require('@lameduck/core') as typeof import('@lameduck/core')
    const cjsKit = require('@lameduck/core/adapter') as typeof import('@lameduck/core/adapter')
    const { ConfigurationError, LameduckError, TaskTimeoutError, DuplicateTaskError } = await import('@lameduck/core')
    const fromCjs = new cjsKit.DuplicateRegistrationError('closeThing', 'thing')
    expect(fromCjs).toBeInstanceOf(DuplicateRegistrationError)
    expect(fromCjs).toBeInstanceOf(ConfigurationError)
    expect(fromCjs).toBeInstanceOf(LameduckError)
    expect(fromCjs).toBeInstanceOf(Error)
    expect(fromCjs).not.toBeInstanceOf(DuplicateTaskError)
    expect(new TaskTimeoutError('t', 1, false)).toBeInstanceOf(cjs.TaskTimeoutError)
    expect(new TaskTimeoutError('t', 1, false)).not.toBeInstanceOf(cjs.ConfigurationError)
    expect({ name: 'TaskTimeoutError' }).not.toBeInstanceOf(TaskTimeoutError)
    expect(null).not.toBeInstanceOf(LameduckError)
  })
})
