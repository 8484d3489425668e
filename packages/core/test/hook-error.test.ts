import { callHook, hookErrorLogger } from '@lameduck/core/adapter'
import { describe, expect, it } from 'vitest'
import { memoryLogger } from './helpers.js'

describe('hookErrorLogger: a failing hook logged, and the task goes on', () => {
  it('logs a throw as a warning naming the event, the task, the hook and the error', () => {
    const logger = memoryLogger()
    const onError = hookErrorLogger(logger, { event: 'net.onDrain.error', task: 'net-server-2', hook: 'onDrain' })
    callHook(
      () => {
        throw new Error('boom')
      },
      [],
      onError,
    )
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        fields: { event: 'net.onDrain.error', task: 'net-server-2', error: 'boom' },
        message: 'net-server-2: onDrain threw: boom; the drain goes on',
      },
    ])
  })

  it("logs a hook's rejection, whatever it rejects with, and says what goes on when told", async () => {
    const logger = memoryLogger()
    const onError = hookErrorLogger(logger, {
      event: 'x.onFlush.error',
      task: 'x',
      hook: 'onFlush',
      goesOn: 'the flush',
    })
    const rejected = Promise.reject('not an Error')
    callHook(() => rejected, [], onError)
    // Settled after callHook's own handler, which was attached first.
    await rejected.catch(() => {})
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        fields: { event: 'x.onFlush.error', task: 'x', error: 'not an Error' },
        message: 'x: onFlush threw: not an Error; the flush goes on',
      },
    ])
  })
})
