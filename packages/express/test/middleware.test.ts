import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createShutdown } from '@lameduck/core'
import { lameduck } from '@lameduck/express'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'

const TOKEN = 'express-token-0123456789'
const servers: Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
})

async function start(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((resolve) => server.once('listening', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('lameduck() Express middleware', () => {
  it('serves probes and /shutdown, and passes everything else on', async () => {
    const shutdown = createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
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
    const shutdown = createShutdown({ exit: false, logger: false, signals: [] })
    expect(() => lameduck(shutdown, { env: {} })).toThrow(/needs a token/)
    expect(() => lameduck(shutdown, { env: {}, insecure: true })).not.toThrow()
  })

  it('mounted under a prefix, serves its paths relative to it', async () => {
    const shutdown = createShutdown({ exit: false, logger: false, signals: [] })
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
