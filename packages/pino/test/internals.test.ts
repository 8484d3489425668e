// The private fields of thread-stream and sonic-boom that flushPino reads (src/internals.ts) are each
// feature-detected; when they are not what it knows (another version), it falls back to the destination's
// public flush(cb). Both fallbacks, run: a real transport whose private state cannot be found, and a
// sonic-boom-shaped destination without sonic-boom's buffer fields.
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { flushPino } from '@lameduck/pino'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'
import { destinationsOf, sonicBoomIdle } from '../src/internals.js'

const dir = mkdtempSync(join(tmpdir(), 'lameduck-pino-internals-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('flushPino: internals not recognised', () => {
  it('a transport whose private state is not found: its flush(cb), and the transport is left open', async () => {
    const path = join(dir, 'hidden.log')
    const transport = pino.transport({ target: 'pino/file', options: { destination: path } })
    await once(transport, 'ready')
    // thread-stream's state under a symbol flushPino does not know (a later version): hidden from it only.
    const hidden = new Proxy(transport, {
      ownKeys: (target) => Reflect.ownKeys(target).filter((k) => typeof k !== 'symbol' || k.description !== 'kImpl'),
    })
    expect(destinationsOf(hidden)).toEqual([expect.objectContaining({ kind: 'thread-stream', impl: undefined })])
    const logger = pino(hidden)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    for (let i = 0; i < 200; i++) logger.info({ i }, 'buffered')
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'flushed', streams: ['thread-stream'], terminated: false })
    expect((transport as unknown as { closed: boolean }).closed).toBe(false)
    transport.end()
    const written = readFileSync(path, 'utf8')
    expect(written).toContain('"event":"report"')
  })

  it('a sonic-boom without the buffer fields flushPino knows: its flush(cb) is waited for', async () => {
    let flushed = 0
    const lines: string[] = []
    const shaped = {
      fd: 3,
      minLength: 0,
      write: (line: string) => lines.push(line),
      flushSync() {},
      flush(cb: (error?: Error | null) => void) {
        flushed++
        setTimeout(() => cb(null), 20)
      },
      on() {},
    }
    expect(destinationsOf(shaped)).toEqual([expect.objectContaining({ kind: 'sonic-boom' })])
    expect(sonicBoomIdle(shaped)).toBeUndefined()
    const logger = pino({}, shaped)
    const shutdown = testShutdown({ logger })
    const flush = flushPino(shutdown, logger)
    await shutdown.shutdown()
    expect(flush.result).toMatchObject({ outcome: 'flushed', streams: ['sonic-boom'] })
    expect(flushed).toBe(1)
    expect(lines.at(-1)).toContain('"event":"report"')
  })
})
