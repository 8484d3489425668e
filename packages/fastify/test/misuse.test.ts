// What a JavaScript caller can get wrong with the plugin, caught at register time with one named error per
// mistake, naming `lameduck` and what was passed.
import { lameduck } from '@lameduck/fastify'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

const INVALID = 'LAMEDUCK_ERR_INVALID_OPTION'
const UNKNOWN = 'LAMEDUCK_ERR_UNKNOWN_OPTION'
const TOKEN = 'fastify-token-0123456789'

const apps: FastifyInstance[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close().catch(() => {})
})

async function registered(options: unknown): Promise<unknown> {
  const app = Fastify()
  apps.push(app)
  try {
    await app.register(lameduck, options as never)
    await app.ready()
  } catch (error) {
    return error
  }
  return undefined
}

describe('app.register(lameduck, options): wrong options', () => {
  const shutdown = testShutdown()
  const rows: [string, unknown, string, RegExp][] = [
    ['no options', undefined, INVALID, /shutdown argument of lameduck.*got undefined/],
    ['no coordinator', { token: TOKEN }, INVALID, /shutdown argument of lameduck.*got undefined/],
    ['not a coordinator', { shutdown: {}, token: TOKEN }, INVALID, /shutdown argument of lameduck/],
    ['typo', { shutdown, tokn: TOKEN }, UNKNOWN, /lameduck: unknown option "tokn" — did you mean "token"\?/],
    ['token type', { shutdown, token: 5 }, INVALID, /token of lameduck: .*got 5/],
    ['insecure type', { shutdown, insecure: 'yes' }, INVALID, /insecure of lameduck/],
    ['path without /', { shutdown, token: TOKEN, paths: { readiness: 'readyz' } }, INVALID, /lameduck/],
    ['path typo', { shutdown, token: TOKEN, paths: { readyness: '/r' } }, UNKNOWN, /readyness/],
    ['drain not an object', { shutdown, token: TOKEN, drain: 5 }, INVALID, /drain of lameduck/],
    [
      'drain typo',
      { shutdown, token: TOKEN, drain: { timeout: 5 } },
      UNKNOWN,
      /drain of lameduck: unknown option "timeout"/,
    ],
    [
      'drain budget',
      { shutdown, token: TOKEN, drain: { timeoutMs: -1 } },
      'LAMEDUCK_ERR_INVALID_DURATION',
      /timeoutMs of drain of lameduck/,
    ],
    [
      'close typo',
      { shutdown, token: TOKEN, close: { timeout: 5 } },
      UNKNOWN,
      /close of lameduck: unknown option "timeout"/,
    ],
    [
      'close budget',
      { shutdown, token: TOKEN, close: { timeoutMs: 'soon' } },
      'LAMEDUCK_ERR_INVALID_DURATION',
      /timeoutMs of close of lameduck/,
    ],
    [
      'close phase',
      { shutdown, token: TOKEN, close: { phase: 'later' } },
      'LAMEDUCK_ERR_UNKNOWN_PHASE',
      /phase of close of lameduck/,
    ],
    ['no token', { shutdown, env: {} }, 'LAMEDUCK_ERR_SHUTDOWN_TOKEN_REQUIRED', /token/],
  ]
  it.each(rows)('%s', async (_name, options, code, message) => {
    const error = (await registered(options)) as { code?: string; message?: string } | undefined
    expect(error?.code).toBe(code)
    expect(error?.message).toMatch(message)
  })

  it('registering twice on one coordinator: DuplicateRegistrationError from the drain, as for the other adapters', async () => {
    const coordinator = testShutdown()
    const app = Fastify()
    apps.push(app)
    await app.register(lameduck, { shutdown: coordinator, token: TOKEN })
    const error = await app
      .register(lameduck, {
        shutdown: coordinator,
        token: TOKEN,
        paths: { liveness: '/l', readiness: '/r', shutdown: '/s' },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(error).toMatchObject({ code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION' })
    expect((error as Error).message).toMatch(
      /drain of lameduck: this server is already registered on this coordinator \(as "http-drain"\)/,
    )
  })

  it('one coordinator, two Fastify instances: each drained and closed, the second numbered', async () => {
    const coordinator = testShutdown()
    const one = Fastify()
    const two = Fastify()
    apps.push(one, two)
    await one.register(lameduck, { shutdown: coordinator, token: TOKEN })
    await two.register(lameduck, { shutdown: coordinator, token: TOKEN })
    await Promise.all([one.ready(), two.ready()])
    expect(two.lameduck.drain.name).toBe('http-drain-2')
    expect(two.lameduck.close.name).toBe('fastify-close-2')
  })
})
