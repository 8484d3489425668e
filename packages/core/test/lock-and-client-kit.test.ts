import {
  DuplicateRegistrationError,
  LOCK_RETRY_DEFAULTS,
  lockRetry,
  onFirstTrigger,
  optionKeys,
  registerClientTask,
  requireShutdownFirst,
  TASK_OPTION_KEYS,
  TriggerStop,
} from '@lameduck/core/adapter'
import { describe, expect, it } from 'vitest'
import { jumpingClock } from '../../../test/support/clock.js'
import { taskReport, testShutdown } from './helpers.js'

// The parts of the kit the lock adapters (redis, pg, etcd) and the adapters of one client share.

const DEFAULTS = { name: 'thing-close', phase: 'close', timeoutMs: 1000, critical: true } as const

describe('onFirstTrigger: where an adapter stops taking new work', () => {
  it('calls the listener once, at the first trigger, however many states follow', async () => {
    const shutdown = testShutdown()
    const seen: string[] = []
    onFirstTrigger(shutdown, () => seen.push(shutdown.state))
    expect(seen).toEqual([])
    await shutdown.shutdown()
    expect(seen).toEqual(['draining'])
  })

  it('calls it at once when the shutdown has started, and never once taken off', async () => {
    const shutdown = testShutdown()
    let removed = 0
    const off = onFirstTrigger(shutdown, () => removed++)
    off()
    const run = shutdown.shutdown()
    let late = 0
    onFirstTrigger(shutdown, () => late++)
    expect(late).toBe(1)
    await run
    expect(removed).toBe(0)
  })

  it('TriggerStop: a signal aborted at the first trigger of the shutdown it follows, never once detached', async () => {
    const followed = testShutdown()
    const stop = new TriggerStop()
    stop.follow(followed)
    expect(stop.signal.aborted).toBe(false)
    const run = followed.shutdown()
    expect(stop.signal.aborted).toBe(true)
    await run

    const other = testShutdown()
    const detached = new TriggerStop()
    detached.follow(other)
    detached.detach()
    await other.shutdown()
    expect(detached.signal.aborted).toBe(false)
    // Not following any: it never aborts.
    expect(new TriggerStop().signal.aborted).toBe(false)
  })
})

describe('lockRetry: the wait between two attempts at a lock someone else holds', () => {
  const owner = (retryDelayMs: number, stopping = new AbortController().signal) => ({
    clock: jumpingClock(),
    stopping,
    retryDelayMs,
  })
  const shuttingDown = () => new Error('shutting down')

  it('states the defaults every lock adapter spreads', () => {
    expect(LOCK_RETRY_DEFAULTS).toEqual({ waitMs: 0, retryDelayMs: 50, retryJitter: 0.5 })
  })

  it('waitMs 0: no pause, the caller times out at once', async () => {
    const retry = lockRetry(owner(50), { waitMs: 0, signal: undefined, shuttingDown })
    await expect(retry.pause()).resolves.toBe(false)
    retry.dispose()
  })

  it('pauses until the next attempt while waitMs lasts, cut short at its end, and times out after', async () => {
    const retry = lockRetry(owner(60_000), { waitMs: 40, signal: undefined, shuttingDown })
    // A 60 s delay, cut short at the end of the 40 ms wait: the next attempt comes then, and is the last.
    await expect(retry.pause()).resolves.toBe(true)
    await expect(retry.pause()).resolves.toBe(false)
    retry.dispose()
  })

  it('follows the coordinator clock: a jump past waitMs ends the wait', async () => {
    const o = owner(10)
    const retry = lockRetry(o, { waitMs: 60_000, signal: undefined, shuttingDown })
    await expect(retry.pause()).resolves.toBe(true)
    o.clock.jump(60_000)
    await expect(retry.pause()).resolves.toBe(false)
    retry.dispose()
  })

  it('stops with shuttingDown() once the shutdown started, with the signal reason once it aborted', async () => {
    const stopping = new AbortController()
    const caller = new AbortController()
    const retry = lockRetry(owner(60_000, stopping.signal), { waitMs: 60_000, signal: caller.signal, shuttingDown })
    expect(() => retry.check()).not.toThrow()
    const reason = new Error('caller gave up')
    const paused = retry.pause()
    caller.abort(reason)
    await expect(paused).rejects.toBe(reason)
    retry.dispose()
    const stopped = lockRetry(owner(60_000, stopping.signal), { waitMs: 60_000, signal: undefined, shuttingDown })
    const waiting = stopped.pause()
    stopping.abort()
    await expect(waiting).rejects.toThrow('shutting down')
    expect(() => stopped.check()).toThrow('shutting down')
    await expect(stopped.pause()).rejects.toThrow('shutting down')
    // Both: the shutdown is what the caller hears of.
    expect(() => retry.check()).toThrow('shutting down')
    stopped.dispose()
    stopped.dispose()
  })
})

describe('requireShutdownFirst: the client given in the coordinator place is named as one', () => {
  const client = { kind: 'a thing client', looksLike: (value: unknown) => (value as { thing?: true })?.thing === true }

  it('names the client, else answers as requireShutdown does', () => {
    expect(() => requireShutdownFirst('closeThing', { thing: true }, 'closeThing(shutdown, client)', client)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_INVALID_OPTION',
        message: expect.stringContaining(
          'got a thing client (the coordinator comes first: closeThing(shutdown, client))',
        ),
      }),
    )
    expect(() => requireShutdownFirst('closeThing', {}, 'closeThing(shutdown, client)', client)).toThrow(
      /got an object \(the coordinator comes first: closeThing\(shutdown, client\)\)/,
    )
    const shutdown = testShutdown()
    expect(requireShutdownFirst('closeThing', shutdown, 'closeThing(shutdown, client)', client)).toBe(shutdown)
  })
})

describe('registerClientTask: an adapter of one client with only the task options', () => {
  it('checks the options, fills them in from the defaults, and runs the task at shutdown', async () => {
    const shutdown = testShutdown()
    const client = {}
    expect(() =>
      registerClientTask(shutdown, 'closeThing', client, { timeout: 5 } as never, DEFAULTS, () => {}),
    ).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION' }))
    expect(() => registerClientTask(shutdown, 'closeThing', client, { timeoutMs: -1 }, DEFAULTS, () => {})).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_DURATION' }),
    )
    let ran = ''
    const registration = registerClientTask(shutdown, 'closeThing', client, undefined, DEFAULTS, (_signal, context) => {
      ran = context.name
    })
    expect(registration.name).toBe('thing-close')
    expect(() => registerClientTask(shutdown, 'closeThing', client, {}, DEFAULTS, () => {})).toThrow(
      DuplicateRegistrationError,
    )
    expect(() => registerClientTask(shutdown, 'closeThing', client, {}, DEFAULTS, () => {})).toThrow(
      /closeThing: this client is already registered/,
    )
    const other = registerClientTask(
      shutdown,
      'closeThing',
      {},
      { phase: 'release', critical: false },
      DEFAULTS,
      () => {},
    )
    expect(other.name).toBe('thing-close-2')
    const report = await shutdown.shutdown()
    expect(ran).toBe('thing-close')
    expect(taskReport(report, 'thing-close-2')).toMatchObject({ phase: 'release', critical: false, outcome: 'ok' })
  })
})

describe('optionKeys: the keys checkOptions knows, every one of the options type', () => {
  interface ThingOptions {
    name?: string
    phase?: 'close'
    timeoutMs?: number
    critical?: boolean
    keyPrefix?: string
    batchSize?: number
  }

  it('lists the task options and the own ones, in order', () => {
    expect(optionKeys<ThingOptions>({ keyPrefix: true, batchSize: true })).toEqual([
      ...TASK_OPTION_KEYS,
      'keyPrefix',
      'batchSize',
    ])
    // @ts-expect-error batchSize is missing: a key of the options type left out does not compile
    optionKeys<ThingOptions>({ keyPrefix: true })
    // @ts-expect-error batchSise is no key of the options type
    optionKeys<ThingOptions>({ keyPrefix: true, batchSize: true, batchSise: true })
  })
})
