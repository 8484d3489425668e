import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { project, readReadme, removeProjects, sh, summaries } from '../../../test/support/readme.js'

// The README's service through the simulator with the command the README gives, against a real local
// registry endpoint: an end-to-end file (run one at a time, see vitest.config.ts).
const readme = readReadme('packages/notify/README.md')
const fenced = (lang: string) => new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1] ?? ''

describe('the README, as written', () => {
  afterAll(removeProjects)

  it('the service passes lameduck-sim, and the terminated replica deregisters itself: PUT, token, idempotency key', async () => {
    const seen: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = []
    const registry = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers })
      res.end('{"ok":true}')
    })
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve))
    try {
      const dir = project({ 'server.mjs': fenced('ts') }, { packages: ['notify'] })
      const port = (registry.address() as AddressInfo).port
      const command = `export REGISTRY_URL=http://127.0.0.1:${port} REGISTRY_TOKEN=registry-secret\n${fenced('sh')}`
      const { code, stdout, stderr } = await sh(command, dir)
      const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
      expect(summaries(stdout), log).toEqual([0])
      expect(stdout, log).toMatch(/verdict\s+PASS/)
      expect(stdout, log).toMatch(/task notify: ok/)
      expect(code, log).toBe(0)
      const deregistered = seen.filter((s) => s.method === 'PUT')
      expect(deregistered.length, log).toBeGreaterThanOrEqual(1)
      expect(deregistered[0]?.url).toMatch(/^\/v1\/agent\/service\/deregister\/.+/)
      expect(deregistered[0]?.headers.authorization).toBe('Bearer registry-secret')
      expect(deregistered[0]?.headers['idempotency-key']).toMatch(/^lameduck-[0-9a-f]{32}$/)
    } finally {
      registry.closeAllConnections()
      await new Promise((resolve) => registry.close(resolve))
    }
  }, 60_000)
})
