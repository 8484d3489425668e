// flushPino in the test process, against real pino loggers (a worker-thread transport writing a real file, a
// sonic-boom destination, a sync one), with coordinators that do not exit (exit: false: the exit flushes run
// before shutdown() resolves). And what a JavaScript caller can get wrong: one named error per mistake.
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { LameduckError } from '@lameduck/core'
import { FLUSH_PINO_OPTIONS, flushPino, PINO_DEFAULTS, PinoFlushTimeoutError } from '@lameduck/pino'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { expectRefused } from '../../../test/support/adapter-contract.js'
import { testShutdown } from '../../../test/support/shutdown.js'

const dir = mkdtempSync(join(tmpdir(), 'lameduck-pino-unit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const file = () => join(dir, `log-${++files}.log`)
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean)

/** A logger on a sync destination (nothing to flush, no thread): for the checks that never run a flush. */
const syncLogger = () => pino(pino.destination({ dest: file(), sync: true }))

describe('flushPino: wrong arguments and options', () => {
  const shutdown = testShutdown()
  const logger = syncLogger()
  const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
  const call = (options: unknown) => () => flushPino(shutdown, logger, options as never).remove()

  it('refuses every invalid timeoutMs, 0 included, with LAMEDUCK_ERR_INVALID_DURATION', async () => {
    for (const timeoutMs of [null, -1, 0, Number.NaN, '10', 2 ** 31, Number.POSITIVE_INFINITY])
      await expectRefused(call({ timeoutMs }), 'LAMEDUCK_ERR_INVALID_DURATION', /timeoutMs of flushPino/)
  })

  it('refuses unknown options with the closest known one, and the task options an exit flush has not', async () => {
    await expectRefused(
      call({ timeout: 100 }),
      'LAMEDUCK_ERR_UNKNOWN_OPTION',
      /flushPino: unknown option "timeout" — did you mean "timeoutMs"\?/,
    )
    await expectRefused(call({ phase: 'report' }), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "phase"/)
    await expectRefused(call({ critical: true }), 'LAMEDUCK_ERR_UNKNOWN_OPTION', /unknown option "critical"/)
    await expectRefused(call(null), INVALID, /options of flushPino: expected an object/)
    await expectRefused(call({ close: 'yes' }), INVALID, /close of flushPino: expected true or false/)
    for (const name of [null, '', '  ', 7]) await expectRefused(call({ name }), INVALID, /name of flushPino/)
    expect([...FLUSH_PINO_OPTIONS].sort()).toEqual(['close', 'name', 'timeoutMs'])
  })

  it('refuses what is not a pino logger: a pino-compatible object, console, nothing', async () => {
    const lookalike = { info() {}, warn() {}, error() {}, child() {}, flush() {} }
    for (const notPino of [lookalike, console, undefined, null, 'pino', shutdown])
      await expectRefused(
        () => flushPino(shutdown, notPino as never),
        INVALID,
        /logger argument of flushPino: expected a pino logger \(pino\(\) or one of its children\); got/,
      )
  })

  it('refuses what is not a coordinator, and the two arguments swapped', async () => {
    for (const notCoordinator of [undefined, {}, logger])
      await expectRefused(() => flushPino(notCoordinator as never, logger), INVALID, /shutdown argument of flushPino/)
  })
})

describe('flushPino: the registration', () => {
  it('returns name, remove() (idempotent), [Symbol.dispose] and result; reserves its timeoutMs in the plan', () => {
    const shutdown = testShutdown()
    const handle = flushPino(shutdown, syncLogger())
    expect(Object.keys(handle).sort()).toEqual(['name', 'remove', 'result'])
    expect(handle.name).toBe(PINO_DEFAULTS.name)
    expect(handle.result).toBeUndefined()
    expect(shutdown.plan().exitFlushMs).toBe(PINO_DEFAULTS.timeoutMs)
    handle.remove()
    handle.remove()
    expect(shutdown.plan().exitFlushMs).toBe(0)
    {
      using scoped = flushPino(shutdown, syncLogger(), { timeoutMs: 300, name: 'logs' })
      expect(scoped.name).toBe('logs')
      expect(shutdown.plan().exitFlushMs).toBe(300)
    }
    expect(shutdown.plan().exitFlushMs).toBe(0)
  })

  it('takes a destination once per coordinator (a child logger shares it); another one gets the name numbered', () => {
    const shutdown = testShutdown()
    const logger = syncLogger()
    const first = flushPino(shutdown, logger)
    for (const same of [logger, logger.child({ module: 'x' })])
      expect(() => flushPino(shutdown, same, { name: 'again' })).toThrow(
        expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' }),
      )
    expect(flushPino(shutdown, syncLogger()).name).toBe(`${PINO_DEFAULTS.name}-2`)
    expect(() => flushPino(shutdown, syncLogger(), { name: PINO_DEFAULTS.name })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }),
    )
    expect(flushPino(testShutdown(), logger).name).toBe(PINO_DEFAULTS.name) // another coordinator may
    first.remove()
    expect(flushPino(shutdown, logger).name).toBe(PINO_DEFAULTS.name)
  })

  it('must come before the first trigger: its time could no longer be reserved', async () => {
    const shutdown = testShutdown()
    const run = shutdown.shutdown()
    expect(() => flushPino(shutdown, syncLogger())).toThrow(LameduckError)
    await run
  })
})

describe('flushPino: the flush, in process (exit: false)', () => {
  it('a pino/file transport: before shutdown() resolves, every line — the report included — is in the file', async () => {
    const path = file()
    const transport = pino.transport({ target: 'pino/file', options: { destination: path } })
    await once(transport, 'ready')
    const logger = pino(transport)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    for (let i = 0; i < 5000; i++) logger.info({ i }, 'buffered')
    await shutdown.shutdown()
    const written = lines(path)
    expect(written.filter((l) => l.includes('"msg":"buffered"'))).toHaveLength(5000)
    expect(written.at(-1)).toContain('"event":"report"')
    expect(flush.result).toMatchObject({ outcome: 'closed', streams: ['thread-stream'], terminated: false })
    // The transport is closed: what is logged after goes to stderr, never to a dead worker (no throw).
    logger.info('after the flush')
  })

  it('close: false only flushes: the transport stays open', async () => {
    const path = file()
    const transport = pino.transport({ target: 'pino/file', options: { destination: path } })
    await once(transport, 'ready')
    const logger = pino(transport)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger, { close: false })
    for (let i = 0; i < 1000; i++) logger.info({ i }, 'buffered')
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'flushed', terminated: false })
    expect(lines(path).filter((l) => l.includes('"msg":"buffered"'))).toHaveLength(1000)
    expect((transport as unknown as { closed: boolean }).closed).toBe(false)
    transport.end()
  })

  it('pino.destination({ sync: false }): waits for sonic-boom to have written its buffer', async () => {
    const path = file()
    const destination = pino.destination({ dest: path, sync: false })
    const logger = pino(destination)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    for (let i = 0; i < 5000; i++) logger.info({ i }, 'buffered')
    await shutdown.shutdown()
    expect(lines(path).filter((l) => l.includes('"msg":"buffered"'))).toHaveLength(5000)
    expect(flush.result).toMatchObject({ outcome: 'flushed', streams: ['sonic-boom'] })
    destination.end()
  })

  it('a sync destination and a multistream of them: nothing to wait for', async () => {
    const paths = [file(), file()]
    // pino(multistream) alone would take it for options: the stream goes second.
    const logger = pino({}, pino.multistream(paths.map((dest) => ({ stream: pino.destination({ dest, sync: true }) }))))
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    logger.info('one line')
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'flushed', streams: ['sonic-boom', 'sonic-boom'] })
    for (const path of paths) expect(lines(path).at(-1)).toContain('"event":"report"')
  })

  it('any other Writable: until its writableLength is 0', async () => {
    const written: string[] = []
    const slow = new Writable({
      highWaterMark: 1 << 20,
      write(chunk, _encoding, done) {
        setTimeout(() => {
          written.push(String(chunk))
          done()
        }, 1)
      },
    })
    const logger = pino(slow)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    for (let i = 0; i < 200; i++) logger.info({ i }, 'buffered')
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'flushed', streams: ['writable'] })
    expect(slow.writableLength).toBe(0)
    expect(written.filter((l) => l.includes('"msg":"buffered"'))).toHaveLength(200)
    expect(written.at(-1)).toContain('"event":"report"')
  })

  it('a destination of its own with flush(cb): its callback, and a timeout when it never comes', async () => {
    let flushed = 0
    const own = {
      write() {},
      flush: (cb: () => void) => {
        flushed++
        setTimeout(cb, 20)
      },
    }
    const logger = pino({}, own)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'flushed', streams: ['other'] })
    expect(flushed).toBe(1)

    const never = pino({}, { write() {}, flush() {} } as pino.DestinationStream)
    const second = testShutdown({ logger: never })
    const stuck = flushPino(second, never, { timeoutMs: 200 })
    await second.shutdown()
    expect(stuck.result).toMatchObject({ outcome: 'timeout', terminated: false })
  })

  it('a transport whose destination dies during the shutdown: PinoDestinationError, and the shutdown is not crashed', async () => {
    const transport = pino.transport({ target: new URL('./fixtures/die-target.mjs', import.meta.url).href })
    await once(transport, 'ready')
    const logger = pino(transport)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    logger.info('before the shutdown')
    // The target errors at the coordinator's first line (the trigger): mid-run, an 'error' nobody listens to.
    const report = await shutdown.shutdown()
    expect(report.exitCode).toBe(0)
    expect(flush.result).toMatchObject({ outcome: 'failed' })
    logger.info('after: to stderr, not to a dead worker')
  })

  it('a stalled transport: a PinoFlushTimeoutError within the budget, the worker terminated', async () => {
    const transport = pino.transport({ target: new URL('./fixtures/stall-target.mjs', import.meta.url).href })
    await once(transport, 'ready')
    const logger = pino(transport)
    const warnings: unknown[] = []
    const shutdown = testShutdown({
      logger: { info() {}, error() {}, warn: (fields: unknown) => warnings.push(fields) },
    })
    const flush = flushPino(shutdown, logger, { timeoutMs: 400 })
    for (let i = 0; i < 2000; i++) logger.info({ i }, 'never written')
    const started = performance.now()
    await shutdown.shutdown()
    expect(performance.now() - started).toBeLessThan(1_500)
    expect(flush.result).toMatchObject({ outcome: 'timeout', terminated: true })
    expect(flush.result?.durationMs).toBeLessThan(400)
    expect(warnings).toEqual([
      expect.objectContaining({
        event: 'exit-flush.error',
        flush: 'pino',
        error: expect.stringMatching(/worker was terminated/),
      }),
    ])
    expect((transport as unknown as { destroyed: boolean }).destroyed).toBe(true)
    expect(new PinoFlushTimeoutError(400, 'x').code).toBe('LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT')
  })
})
