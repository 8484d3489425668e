import type { ShutdownEvents } from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { closedAfterEach, delay, memoryLogger } from './helpers.js'

const coordinator = closedAfterEach()

describe('health and startup events', () => {
  it('health: one event per status change of a check, where its log line is written', async () => {
    const logger = memoryLogger()
    const shutdown = coordinator({ logger })
    const events: ShutdownEvents['health'][] = []
    shutdown.on('health', (e) => events.push(e))
    let up = true
    shutdown.health.check('db', () => up, { cacheMs: 0, affects: ['readiness', 'liveness'] })
    await shutdown.health.status('readiness')
    expect(events).toEqual([])
    up = false
    for (let i = 0; i < 3; i++) await shutdown.health.status('readiness')
    up = true
    await shutdown.health.status('liveness')
    expect(events).toEqual([
      {
        name: 'db',
        probes: ['readiness', 'liveness'],
        from: 'ok',
        to: 'failing',
        critical: true,
        error: 'the check returned false',
      },
      { name: 'db', probes: ['readiness', 'liveness'], from: 'failing', to: 'ok', critical: true },
    ])
    expect(logger.entries.filter((e) => e.fields.event === 'health.check')).toHaveLength(2)
  })

  it('a listener that throws does not break the probe', async () => {
    const shutdown = coordinator()
    shutdown.on('health', () => {
      throw new Error('listener bug')
    })
    shutdown.health.check('db', () => false)
    expect((await shutdown.health.status('readiness')).status).toBe('failing')
  })

  it('startup: pending once a task is registered, then done with the report', async () => {
    const shutdown = coordinator()
    const events: ShutdownEvents['startup'][] = []
    shutdown.on('startup', (e) => events.push(e))
    shutdown.startup.task('a', () => delay(10))
    shutdown.startup.task('b', () => delay(20))
    await shutdown.startup.done()
    expect(events.map((e) => e.state)).toEqual(['pending', 'done'])
    expect(events[1]?.tasks.map((t) => [t.name, t.outcome])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
    ])
  })

  it('startup: failed at the first failure; aborted once, with every task settled, at a shutdown', async () => {
    const failed = coordinator()
    const events: ShutdownEvents['startup'][] = []
    failed.on('startup', (e) => events.push(e))
    failed.startup.task('bad', () => Promise.reject(new Error('nope')))
    await failed.startup.done()
    expect(events.map((e) => e.state)).toEqual(['pending', 'failed'])
    expect(events[1]?.tasks[0]).toMatchObject({ name: 'bad', outcome: 'error', error: 'nope' })

    const aborted = coordinator()
    const seen: ShutdownEvents['startup'][] = []
    aborted.on('startup', (e) => seen.push(e))
    aborted.startup.task('x', () => new Promise(() => {}))
    aborted.startup.task('y', () => new Promise(() => {}))
    await aborted.shutdown('test')
    expect(seen.map((e) => e.state)).toEqual(['pending', 'aborted'])
    expect(seen[1]?.tasks.map((t) => t.outcome)).toEqual(['aborted', 'aborted'])
  })
})
