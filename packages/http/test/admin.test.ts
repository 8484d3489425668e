import { listenAdmin } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { delay, testShutdown } from '../../../test/support/shutdown.js'
import { get } from './helpers.js'

describe('listenAdmin', () => {
  it('serves the probes and extra handlers, 404 otherwise, and closes last', async () => {
    const shutdown = testShutdown()
    const warnings: string[] = []
    shutdown.on('warning', (w) => warnings.push(w.code))
    const order: string[] = []
    shutdown.on('taskEnd', (t) => order.push(t.name))
    shutdown.addTask({ name: 'close-db', phase: 'close', run: () => {} })
    const admin = await listenAdmin(shutdown, {
      port: 0,
      host: '127.0.0.1',
      env: {},
      handlers: [
        (req, res) => {
          if (req.url !== '/metrics') return false
          res.end('lameduck_up 1\n')
          return true
        },
      ],
    })
    expect(warnings).toEqual(['LAMEDUCK_WARN_ADMIN_NO_TOKEN'])
    expect((await get('http', admin.port, '/healthz')).status).toBe(200)
    expect((await get('http', admin.port, '/metrics')).body).toBe('lameduck_up 1\n')
    expect((await get('http', admin.port, '/nope')).status).toBe(404)
    // No token on the admin port: allowed (with the warning above).
    const reply = await get('http', admin.port, '/shutdown', { method: 'POST' })
    expect(reply.status).toBe(200)
    expect(order).toEqual(['close-db', 'admin-server-close'])
    await delay(20)
    expect(admin.server.listening).toBe(false)
  })

  it('requires the token on the admin port when one is configured', async () => {
    const shutdown = testShutdown()
    const admin = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', token: 'admin-token-0123456789' })
    expect((await get('http', admin.port, '/shutdown')).status).toBe(401)
    expect(
      (await get('http', admin.port, '/shutdown', { headers: { authorization: 'Bearer admin-token-0123456789' } }))
        .status,
    ).toBe(200)
  })

  it('rejects a bad port and reports a port in use', async () => {
    const shutdown = testShutdown()
    await expect(listenAdmin(shutdown, { port: -1 })).rejects.toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    const first = await listenAdmin(shutdown, { port: 0, host: '127.0.0.1', token: 'admin-token-0123456789' })
    const other = testShutdown()
    await expect(
      listenAdmin(other, { port: first.port, host: '127.0.0.1', token: 'admin-token-0123456789' }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await first.close()
  })
})
