// The kit's claimRequests, as the HTTP drain honours it: a claimed request's socket is handed over before
// lame duck decides anything about it — no `Connection: close`, not waited for, not destroyed at the
// deadline — and a withdrawn claim (or an inactive owner) leaves the drain as it was.
import { Agent, createServer } from 'node:http'
import { claimRequests } from '@lameduck/core/adapter'
import { drainHttpServer } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { delay, taskReport, testShutdown } from '../../../test/support/shutdown.js'
import { closedAfterEach, get, listen } from './helpers.js'

const servers = closedAfterEach()

/** A server that answers `/long` after `ms`, the rest at once. */
function server(ms: number) {
  const s = createServer((req, res) => {
    if (req.url?.startsWith('/long')) setTimeout(() => res.end('late'), ms)
    else res.end('ok')
  })
  servers.push(s)
  return s
}

describe('claimRequests: the HTTP drain leaves claimed requests to their owner', () => {
  it('no Connection: close on a claimed request in lame duck (other requests get it), on a socket of its own', async () => {
    const s = server(0)
    const shutdown = testShutdown({ drainDelayMs: 300 })
    drainHttpServer(shutdown, s, { checkTimeouts: false })
    const owner = { name: 'poller', active: true }
    claimRequests(s, owner, (req) => req.url?.startsWith('/long') === true)
    const port = await listen(s)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const run = shutdown.shutdown()
    await delay(50)
    // A new socket during lame duck: its first request is the claimed one.
    const claimed = await get('http', port, '/long', { agent })
    expect(claimed.headers.connection).toBe('keep-alive')
    const again = await get('http', port, '/long', { agent })
    expect(again.socket).toBe(claimed.socket)
    const other = await get('http', port, '/other')
    expect(other.headers.connection).toBe('close')
    agent.destroy()
    await run
  })

  it('a claimed request in flight is neither waited for nor cut at the deadline; the owner ends it', async () => {
    const s = server(1500)
    const shutdown = testShutdown()
    const drain = drainHttpServer(shutdown, s, { timeoutMs: 300, checkTimeouts: false })
    const owner = { name: 'poller', active: true }
    claimRequests(s, owner, (req) => req.url === '/long')
    const port = await listen(s)
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    // In flight before the trigger: the drain finds it in lame duck's first sweep.
    const pending = get('http', port, '/long', { agent })
    await delay(50)
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'http-drain').outcome).toBe('ok')
    expect(drain.stats).toMatchObject({ forced: 0, requestsCut: 0, handedOver: 1 })
    // The response still arrives, after the drain is over: nothing cut it.
    expect((await pending).body).toBe('late')
    agent.destroy()
  })

  it('an inactive owner, or a withdrawn claim, claims nothing: the drain waits and cuts as before', async () => {
    for (const how of ['inactive', 'withdrawn'] as const) {
      const s = server(5000)
      const shutdown = testShutdown()
      const drain = drainHttpServer(shutdown, s, { timeoutMs: 300, checkTimeouts: false })
      const owner = { name: 'poller', active: true }
      const withdraw = claimRequests(s, owner, () => true)
      if (how === 'inactive') owner.active = false
      else {
        withdraw()
        withdraw()
      }
      const port = await listen(s)
      const cut = get('http', port, '/long').catch((error: NodeJS.ErrnoException) => error.code)
      await delay(50)
      const report = await shutdown.shutdown()
      expect(taskReport(report, 'http-drain'), how).toMatchObject({ outcome: 'error' })
      expect(drain.stats, how).toMatchObject({ requestsCut: 1, handedOver: 0 })
      expect(await cut, how).toBe('ECONNRESET')
    }
  })
})
