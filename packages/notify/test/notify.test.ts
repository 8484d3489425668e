import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { NotifyFailedError, notify } from '@lameduck/notify'
import { afterEach, describe, expect, it } from 'vitest'
import { taskReport, testShutdown } from '../../../test/support/shutdown.js'

interface Seen {
  method: string | undefined
  headers: IncomingMessage['headers']
  body: string
  at: number
}

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** A real endpoint: `answer(n)` says what the n-th request (from 1) gets. */
async function endpoint(answer: (n: number, res: ServerResponse) => void) {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body, at: performance.now() })
      answer(seen.length, res)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/deregister` }
}

const status =
  (code: number, body = '') =>
  (res: ServerResponse) => {
    res.statusCode = code
    res.end(body)
  }

describe('notify', () => {
  it('retries 5xx with backoff until it is told, the same idempotency key every time; the response is in the report', async () => {
    const { seen, url } = await endpoint((n, res) =>
      n < 3 ? status(503, 'not yet')(res) : status(200, '{"deregistered":true}')(res),
    )
    const shutdown = testShutdown()
    const told = notify(shutdown, { url, retryDelayMs: 20, env: { POD_NAME: 'api-7d9f-x2' } })
    const report = await shutdown.shutdown()
    expect(seen).toHaveLength(3)
    const keys = seen.map((s) => s.headers['idempotency-key'])
    expect(keys[0]).toMatch(/^lameduck-[0-9a-f]{32}$/)
    expect(new Set(keys).size).toBe(1)
    expect(seen[0]?.method).toBe('POST')
    expect(seen[0]?.headers['content-type']).toBe('application/json')
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({
      event: 'shutdown',
      instance: 'api-7d9f-x2',
      idempotencyKey: keys[0],
    })
    const entry = taskReport(report, 'notify')
    expect(entry).toMatchObject({ phase: 'release', outcome: 'ok' })
    expect(entry?.details).toMatchObject({
      ok: true,
      status: 200,
      response: '{"deregistered":true}',
      idempotencyKey: keys[0],
      attempts: [{ status: 503 }, { status: 503 }, { status: 200 }],
    })
    expect(told.result?.ok).toBe(true)
    expect(report.exitCode).toBe(0)
  })

  it('retries a refused connection and a hanging endpoint (the attempt times out), then succeeds', async () => {
    const { seen, url } = await endpoint((n, res) => {
      if (n === 1) return // hangs: the attempt's timeout ends it
      status(204)(res)
    })
    // A port nothing listens on first: the connection is refused.
    const refused = await endpoint(() => {})
    const dead = servers.pop() as Server
    await new Promise((resolve) => dead.close(resolve))
    const shutdown = testShutdown()
    notify(shutdown, { url: refused.url, name: 'refused', attempts: 2, retryDelayMs: 10, timeoutMs: 1_000 })
    notify(shutdown, { url, attemptTimeoutMs: 500, retryDelayMs: 10 })
    const report = await shutdown.shutdown()
    const attempts = taskReport(report, 'notify')?.details?.attempts as { status?: number; error?: string }[]
    expect(attempts[0]).toEqual({ error: "no response within the attempt's time", durationMs: expect.any(Number) })
    expect(attempts.at(-1)).toEqual({ status: 204, durationMs: expect.any(Number) })
    expect(taskReport(report, 'notify')?.outcome).toBe('ok')
    expect(seen.length).toBeLessThanOrEqual(attempts.length)
    expect(seen.at(-1)).toBeDefined()
    const failed = taskReport(report, 'refused')
    expect(failed).toMatchObject({ outcome: 'error', code: 'LAMEDUCK_ERR_NOTIFY_FAILED' })
    expect(failed?.error).toMatch(/the last of 2 attempt\(s\) failed: ECONNREFUSED/)
    // Not critical by default: the pod goes anyway; the report says the call failed.
    expect(report.exitCode).toBe(0)
  })

  it('a 4xx other than 408/429 is an answer: no retry, the task fails with the status', async () => {
    const { seen, url } = await endpoint((_n, res) => status(404, 'no such instance')(res))
    const shutdown = testShutdown()
    const told = notify(shutdown, { url, critical: true })
    const report = await shutdown.shutdown()
    expect(seen).toHaveLength(1)
    expect(taskReport(report, 'notify')).toMatchObject({
      outcome: 'error',
      code: 'LAMEDUCK_ERR_NOTIFY_FAILED',
      details: { ok: false, status: 404, response: 'no such instance' },
    })
    expect(told.result?.attempts).toHaveLength(1)
    expect(report.exitCode).toBe(1)
  })

  it('stays inside its budget: an endpoint failing for ever gets the attempts that fit, and the task ends before its deadline', async () => {
    const { seen, url } = await endpoint((_n, res) => status(500)(res))
    const shutdown = testShutdown()
    notify(shutdown, { url, timeoutMs: 600, attempts: 100, retryDelayMs: 50 })
    const started = performance.now()
    const report = await shutdown.shutdown()
    const entry = taskReport(report, 'notify')
    expect(entry?.outcome).toBe('error') // its own error, not the coordinator's timeout
    expect(entry?.error).toMatch(/answered 500/)
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(seen.length).toBeGreaterThan(1)
    expect(seen.length).toBeLessThan(100)
  })

  it('honours a Retry-After that fits the budget, and says so when one does not', async () => {
    const { seen, url } = await endpoint((n, res) => {
      if (n === 1) {
        res.setHeader('retry-after', '1')
        return status(429)(res)
      }
      status(200)(res)
    })
    const shutdown = testShutdown()
    notify(shutdown, { url, timeoutMs: 3_000 })
    const report = await shutdown.shutdown()
    expect(taskReport(report, 'notify')?.outcome).toBe('ok')
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(900)

    const late = await endpoint((_n, res) => {
      res.setHeader('retry-after', '60')
      status(503)(res)
    })
    const second = testShutdown()
    notify(second, { url: late.url, timeoutMs: 1_000 })
    const failed = taskReport(await second.shutdown(), 'notify')
    expect(failed?.error).toMatch(/asked to retry after 60000 ms, past the budget/)
    expect(late.seen).toHaveLength(1)
  })

  it('one run, one request: a second trigger (the preStop hook run again) joins the run', async () => {
    const { seen, url } = await endpoint((_n, res) => status(200)(res))
    const shutdown = testShutdown()
    notify(shutdown, { url })
    await Promise.all([shutdown.shutdown('preStop'), shutdown.shutdown('preStop again'), shutdown.shutdown('SIGTERM')])
    expect(seen).toHaveLength(1)
  })

  it('method, headers, a body function, a key of its own or none', async () => {
    const { seen, url } = await endpoint((_n, res) => status(200)(res))
    const shutdown = testShutdown()
    notify(shutdown, {
      url,
      method: 'DELETE',
      headers: { authorization: 'Bearer abc' },
      body: ({ instance, idempotencyKey }) => `leaving ${instance} ${idempotencyKey}`,
      idempotencyKey: 'pod-uid-1234',
      idempotencyHeader: 'X-Request-Id',
      env: { HOSTNAME: 'host-1' },
    })
    notify(shutdown, { url: new URL(url), method: 'GET', idempotencyKey: false })
    await shutdown.shutdown()
    const [first, second] = [...seen].sort((a, b) => (a.method ?? '').localeCompare(b.method ?? ''))
    expect(first).toMatchObject({ method: 'DELETE', body: 'leaving host-1 pod-uid-1234' })
    expect(first?.headers).toMatchObject({
      authorization: 'Bearer abc',
      'x-request-id': 'pod-uid-1234',
      'content-type': 'text/plain; charset=utf-8',
    })
    expect(second?.method).toBe('GET')
    expect(second?.headers['idempotency-key']).toBeUndefined()
  })

  it('the result is undefined until the task has run; remove() takes the task off', async () => {
    const { seen, url } = await endpoint((_n, res) => status(200)(res))
    const shutdown = testShutdown()
    const told = notify(shutdown, { url })
    expect(told.result).toBeUndefined()
    expect(told.name).toBe('notify')
    told.remove()
    told.remove()
    await shutdown.shutdown()
    expect(seen).toHaveLength(0)
    expect(told.result).toBeUndefined()
  })

  it('NotifyFailedError carries the result', () => {
    const error = new NotifyFailedError(
      { ok: false, url: 'http://x/', attempts: [], idempotencyKey: undefined, durationMs: 0 },
      'why',
    )
    expect(error.code).toBe('LAMEDUCK_ERR_NOTIFY_FAILED')
    expect(error.message).toBe('http://x/ was not told of the shutdown: why')
  })
})
