// The README's Server-Sent Events snippet runs as written, as a user's service would: its own process, real
// event streams read over HTTP, SIGTERM. (A service of its own: an e2e file, run one at a time.)
import { get } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { block, project, readReadme, removeProjects, serve } from '../../../test/support/readme.js'

const readme = readReadme('packages/http/README.md')

type Ended = Promise<{ body: string; at: number }>

/** Opens `/events`; resolves once the first event is in, with `ended`: the whole body and when it ended. */
function stream(port: number): Promise<{ ended: Ended }> {
  return new Promise((opened, failed) => {
    get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      const ended = new Promise<{ body: string; at: number }>((resolve, reject) => {
        res.once('end', () => resolve({ body, at: performance.now() }))
        res.once('error', reject)
      })
      res.on('data', (chunk: string) => {
        body += chunk
        if (body.includes('\n\n')) opened({ ended })
      })
    }).once('error', failed)
  })
}

describe('the README snippet of closeEventStreams, as written', () => {
  afterAll(removeProjects)

  it('serves event streams, and at SIGTERM ends each with retry: 1000, spread over its 3 s, then exits 0', async () => {
    const snippet = block(readme, '`closeEventStreams(shutdown, server, options?)`: Server-Sent Events', 'js')
    const service = await serve(project({ 'server.mjs': snippet }))
    try {
      const first = await service.reach(stream)
      expect(first, service.output).toBeDefined()
      const opened = [
        first as { ended: Ended },
        ...(await Promise.all(Array.from({ length: 9 }, () => stream(service.port)))),
      ]
      service.kill('SIGTERM')
      const reads = await Promise.all(opened.map((s) => s.ended))
      for (const read of reads) expect(read.body, service.output).toMatch(/^(id: \d+\ndata: tick\n\n)+retry: 1000\n\n$/)
      const times = reads.map((r) => r.at)
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2000)
      expect(await service.exited, service.output).toBe(0)
    } finally {
      service.kill()
    }
  }, 30_000)
})
