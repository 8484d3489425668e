import type { Registration, Shutdown } from '@lameduck/core'
import {
  type FlushPinoOptions,
  flushPino,
  type PINO_ERROR_CODES,
  PINO_WARNING_CODES,
  PinoDestinationError,
  type PinoErrorCode,
  type PinoFlush,
  type PinoFlushResult,
  PinoFlushTimeoutError,
  type PinoWarningCode,
} from '@lameduck/pino'
import pino from 'pino'
import { describe, expectTypeOf, it } from 'vitest'

declare const shutdown: Shutdown

describe('public types of @lameduck/pino', () => {
  it('takes a pino logger (or a child) and returns the one handle shape with its result', () => {
    const logger = pino(pino.transport({ target: 'pino/file' }))
    const flush = flushPino(shutdown, logger)
    expectTypeOf(flush).toEqualTypeOf<PinoFlush>()
    expectTypeOf(flush).toExtend<Registration>()
    expectTypeOf(flush.result).toEqualTypeOf<PinoFlushResult | undefined>()
    expectTypeOf<PinoFlushResult['outcome']>().toEqualTypeOf<'flushed' | 'closed' | 'timeout' | 'failed'>()
    flushPino(shutdown, logger.child({ module: 'db' }), { name: 'db-logs', timeoutMs: 500, close: false })
    expectTypeOf<FlushPinoOptions>().toEqualTypeOf<{ name?: string; timeoutMs?: number; close?: boolean }>()
    // @ts-expect-error not an option of an exit flush (it has no phase)
    flushPino(shutdown, logger, { phase: 'report' })
    // @ts-expect-error not a pino logger
    flushPino(shutdown, console)
  })

  it('has a closed catalogue of codes', () => {
    expectTypeOf<PinoErrorCode>().toEqualTypeOf<
      'LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT' | 'LAMEDUCK_ERR_PINO_DESTINATION_FAILED'
    >()
    expectTypeOf<(typeof PINO_ERROR_CODES)[number]>().toEqualTypeOf<PinoErrorCode>()
    expectTypeOf<PinoWarningCode>().toEqualTypeOf<never>()
    expectTypeOf(PINO_WARNING_CODES).toEqualTypeOf<readonly []>()
    // @ts-expect-error an unknown string is not a code
    const wrong: PinoErrorCode = 'LAMEDUCK_ERR_SOMETHING'
    void wrong
    expectTypeOf(new PinoFlushTimeoutError(1, 'x').code).toEqualTypeOf<'LAMEDUCK_ERR_PINO_FLUSH_TIMEOUT'>()
    expectTypeOf(new PinoDestinationError('x').code).toEqualTypeOf<'LAMEDUCK_ERR_PINO_DESTINATION_FAILED'>()
  })
})
