// The README's snippet of health checks and start-up in the probes runs as written, as a user's script would:
// its own process, over real HTTP on loopback, against the built packages.
import { afterAll, describe, expect, it } from 'vitest'
import { block, project, readReadme, removeProjects, sh } from '../../../test/support/readme.js'

const readme = readReadme('packages/http/README.md')

describe('the README snippet of health checks and start-up, as written', () => {
  afterAll(removeProjects)

  it('prints 503 while starting, then 200 degraded, and the details with the token; exits 0', async () => {
    const snippet = block(readme, 'Health checks and start-up in the probes', 'js')
    const dir = project({ 'server.mjs': snippet })
    const { code, stdout, stderr } = await sh('node server.mjs', dir)
    expect(code, stderr).toBe(0)
    expect(stdout.trim().split('\n')).toEqual([
      '503',
      "200 { status: 'degraded', state: 'running' }",
      '{ latencyMs: 900 }',
    ])
  }, 30_000)
})
