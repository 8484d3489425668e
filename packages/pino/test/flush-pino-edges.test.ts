// flushPino's edges, in process (exit: false), against real pino loggers: a multistream with a transport in
// it (closed by the flush, while the application may still log), a transport the application ended itself,
// and the listeners a refused or removed registration must not leave behind.
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { flushPino } from '@lameduck/pino'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

const dir = mkdtempSync(join(tmpdir(), 'lameduck-pino-edges-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const file = () => join(dir, `log-${++files}.log`)
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean)

async function fileTransport(path: string) {
  const transport = pino.transport({ target: 'pino/file', options: { destination: path } })
  await once(transport, 'ready')
  return transport
}

describe('flushPino: a multistream with a transport in it', () => {
  it('closes the transport, and what is logged after goes to stderr for it — not to a closed worker', async () => {
    const [toTransport, toFile] = [file(), file()]
    const transport = await fileTransport(toTransport)
    const errors: unknown[] = []
    transport.on('error', (error) => errors.push(error))
    const logger = pino(
      {},
      pino.multistream([{ stream: transport }, { stream: pino.destination({ dest: toFile, sync: true }) }]),
    )
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    for (let i = 0; i < 500; i++) logger.info({ i }, 'buffered')
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'closed' })
    expect(flush.result?.streams.sort()).toEqual(['sonic-boom', 'thread-stream'])
    expect(lines(toTransport).filter((l) => l.includes('"msg":"buffered"'))).toHaveLength(500)
    // exit: false — the application goes on logging: the sync file still gets it, the transport's share goes
    // to stderr; nothing is written to the closed worker (thread-stream's 'the worker is ending').
    logger.info('after the flush')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(errors).toEqual([])
    expect(lines(toFile).at(-1)).toContain('after the flush')
  })
})

describe('flushPino: a transport the application ended itself', () => {
  it('has nothing left to write: closed at once, no worker terminated, no timeout', async () => {
    const path = file()
    const transport = await fileTransport(path)
    const logger = pino(transport)
    logger.info('before the end')
    transport.end()
    const shutdown = testShutdown()
    const flush = flushPino(shutdown, logger, { timeoutMs: 1_000 })
    const started = performance.now()
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'closed', terminated: false })
    expect(performance.now() - started).toBeLessThan(800)
    expect(lines(path).at(-1)).toContain('before the end')
  })
})

describe('flushPino: no listener left behind', () => {
  const errorListeners = (stream: unknown) => (stream as NodeJS.EventEmitter).listenerCount('error')

  it('a registration refused after the trigger, or for a taken name, attaches nothing to the destination', async () => {
    const transport = await fileTransport(file())
    const logger = pino(transport)
    const before = errorListeners(transport)
    const shutdown = testShutdown()
    flushPino(shutdown, pino(pino.destination({ dest: file(), sync: true })), { name: 'logs' })
    expect(() => flushPino(shutdown, logger, { name: 'logs' })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DUPLICATE_TASK' }),
    )
    const run = shutdown.shutdown()
    expect(errorListeners(transport)).toBe(before)
    expect(() => flushPino(shutdown, logger)).toThrow()
    expect(errorListeners(transport)).toBe(before)
    await run
    expect(errorListeners(transport)).toBe(before)
    transport.end()
  })
})
