import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { lameduck, withLameduck } from '@lameduck/express'
import express5 from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { testShutdown } from '../../../test/support/shutdown.js'

// The peer range is Express 4 and 5: the same tests run on both (Express 4 installed as `express4`).
const express4 = createRequire(import.meta.url)('express4') as typeof express5
const versions = [
  ['Express 5', express5, createRequire(import.meta.url)('express/package.json').version as string],
  ['Express 4', express4, createRequire(import.meta.url)('express4/package.json').version as string],
] as const

const TOKEN = 'express-token-0123456789'
const servers: Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

async function start(app: express5.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe.each(versions)('lameduck() Express middleware on %s', (_name, express, version) => {
  it('runs the Express major it names', () => {
    expect(version).toMatch(_name === 'Express 4' ? /^4\./ : /^5\./)
  })

  it('serves probes and /shutdown, and passes everything else on', async () => {
    const shutdown = testShutdown()
    const app = express()
    app.use(lameduck(shutdown, { token: TOKEN }))
    app.get('/hello', (_req, res) => {
      res.send('world')
    })
    const base = await start(app)
    expect((await fetch(`${base}/hello`)).status).toBe(200)
    expect(await (await fetch(`${base}/hello`)).text()).toBe('world')
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    expect((await fetch(`${base}/shutdown`)).status).toBe(401)
    const done = await fetch(`${base}/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(done.status).toBe(200)
    expect(((await done.json()) as { trigger: string }).trigger).toBe('http')
    expect((await fetch(`${base}/readyz`)).status).toBe(503)
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
  })

  it('refuses to mount /shutdown without a token unless insecure', () => {
    const shutdown = testShutdown()
    expect(() => lameduck(shutdown, { env: {} })).toThrow(/needs a token/)
    expect(() => lameduck(shutdown, { env: {}, insecure: true })).not.toThrow()
  })

  it('mounted under a prefix, serves its paths relative to it', async () => {
    const shutdown = testShutdown()
    const app = express()
    app.use('/ops', lameduck(shutdown, { token: TOKEN }))
    app.use((_req, res) => {
      res.status(418).send('app')
    })
    const base = await start(app)
    expect((await fetch(`${base}/ops/readyz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(418)
  })
})

describe.each(versions)('withLameduck(): the probes in front of %s', (_name, express) => {
  it('answers the probes before the router, passes everything else to the app, and drains with zero drops', async () => {
    const { createServer } = await import('node:http')
    const { drainHttpServer } = await import('@lameduck/http')
    const shutdown = testShutdown({ drainDelayMs: 200 })
    const app = express()
    const routed: string[] = []
    app.use((req, _res, next) => {
      routed.push(req.url)
      next()
    })
    app.get('/hello', (_req, res) => {
      res.send('world')
    })
    const server = createServer(withLameduck(shutdown, app, { token: TOKEN }))
    servers.push(server)
    drainHttpServer(shutdown, server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    expect(await (await fetch(`${base}/hello`)).text()).toBe('world')
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    expect((await fetch(`${base}/shutdown`)).status).toBe(401)
    // Express never saw the probes: only /hello went through its router.
    expect(routed).toEqual(['/hello'])
    const done = await fetch(`${base}/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(done.status).toBe(200)
    expect((await done.json()) as { trigger: string; exitCode: number }).toMatchObject({ trigger: 'http', exitCode: 0 })
  })

  it('refuses what is not an app, and a typo in the options, at once', () => {
    const shutdown = testShutdown()
    expect(() => withLameduck(shutdown, {} as never, { token: TOKEN })).toThrow(
      /app argument of withLameduck: expected the Express application \(a function\)/,
    )
    expect(() => withLameduck(shutdown, express(), { tokn: TOKEN } as never)).toThrow(/token/)
    expect(() => withLameduck({} as never, express(), { token: TOKEN })).toThrow(/shutdown argument of withLameduck/)
    expect(() => withLameduck(shutdown, express(), { env: {} })).toThrow(/needs a token/)
  })
})
