// What a JavaScript caller can get wrong with the middleware, caught with one named error per mistake,
// naming `lameduck` and what was passed.
import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { lameduck } from '@lameduck/express'
import express5 from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { taskNames, testShutdown } from '../../../test/support/shutdown.js'

const express4 = createRequire(import.meta.url)('express4') as typeof express5
const servers: Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
const UNKNOWN = 'LAMEDUCK_ERR_UNKNOWN_OPTION'

describe.each([
  ['Express 5', express5],
  ['Express 4', express4],
] as const)('lameduck() misused on %s', (_name, express) => {
  it('app.use(lameduck) instead of app.use(lameduck(shutdown)): every request fails, saying how to mount it', async () => {
    const app = express()
    app.use(lameduck as never)
    app.use((error: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      res.status(500).json({ code: (error as { code?: string }).code, message: error.message })
    })
    const server = app.listen(0, '127.0.0.1')
    servers.push(server)
    await new Promise((resolve) => server.once('listening', resolve))
    const reply = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`)
    expect(reply.status).toBe(500)
    const body = (await reply.json()) as { code: string; message: string }
    expect(body.code).toBe(INVALID)
    expect(body.message).toMatch(/app\.use\(lameduck\(shutdown, \{ token \}\)\), not app\.use\(lameduck\)/)
  })
})

describe('lameduck(): wrong arguments and options', () => {
  it('throws at once, one code per mistake, naming lameduck and what was passed', () => {
    const shutdown = testShutdown()
    const rows: [string, () => unknown, string, RegExp][] = [
      ['no coordinator', () => lameduck(undefined as never), INVALID, /shutdown argument of lameduck.*got undefined/],
      ['an app', () => lameduck(express5() as never), INVALID, /shutdown argument of lameduck.*an Express app/],
      [
        'typo',
        () => lameduck(shutdown, { tokn: 'x' } as never),
        UNKNOWN,
        /lameduck: unknown option "tokn" — did you mean "token"\?/,
      ],
      ['null', () => lameduck(shutdown, null as never), INVALID, /lameduck options/],
      ['token as options', () => lameduck(shutdown, 'a-token' as never), INVALID, /lameduck options/],
      ['token type', () => lameduck(shutdown, { token: 5 as never }), INVALID, /token of lameduck: .*got 5/],
      [
        'insecure',
        () => lameduck(shutdown, { insecure: 'yes' as never }),
        INVALID,
        /insecure of lameduck: .*got "yes"/,
      ],
      [
        'path',
        () => lameduck(shutdown, { insecure: true, paths: { readiness: 'ready' } }),
        INVALID,
        /paths\.readiness of lameduck/,
      ],
    ]
    const failures: string[] = []
    for (const [what, call, code, message] of rows) {
      let error: { code?: string; message?: string } | undefined
      try {
        call()
      } catch (e) {
        error = e as typeof error
      }
      if (error?.code !== code || !message.test(error.message ?? ''))
        failures.push(`${what}: got ${error ? `${error.code} "${error.message}"` : 'no error'}`)
    }
    expect(failures).toEqual([])
  })
})

describe('lameduck() and the adapter contract', () => {
  it('registers no task (no handle to remove, nothing to register twice) and takes no duration', async () => {
    const shutdown = testShutdown()
    const first = lameduck(shutdown, { insecure: true, env: {} })
    const second = lameduck(shutdown, { insecure: true, env: {} })
    expect(typeof first).toBe('function')
    expect(second).not.toBe(first)
    expect(() => lameduck(shutdown, { insecure: true, timeoutMs: 1000 } as never)).toThrow(
      expect.objectContaining({ code: UNKNOWN }),
    )
    expect(taskNames(await shutdown.shutdown())).toEqual([])
  })
})
