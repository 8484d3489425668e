import { afterAll, describe, expect, it } from 'vitest'
import { block, project, readReadme, removeProjects, sh, summaries } from '../../../test/support/readme.js'

// A whole service under load through the simulator: an end-to-end file (run one at a time, see vitest.config.ts).
const readme = readReadme('packages/fastify/README.md')

describe('the README, as written', () => {
  afterAll(removeProjects)

  it('"Check it before you deploy it" passes for the snippet at the top: 0 dropped, the report came back', async () => {
    const service = readme.slice(readme.indexOf('```ts\n') + 6, readme.indexOf('```\n', readme.indexOf('```ts\n')))
    const command = block(readme, 'Check it before you deploy it', 'sh')
    expect(command).toMatch(/-- node server\.mjs\s*$/)
    const dir = project({ 'server.mjs': service }, { packages: ['fastify'], modules: { fastify: 'fastify' } })
    const { code, stdout, stderr } = await sh(command, dir)
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(summaries(stdout), log).toEqual([0])
    expect(stdout, log).toMatch(/verdict\s+PASS/)
    expect(stdout, log).toMatch(/preStop\s+GET \/shutdown → 200 in \d+ ms/)
    expect(stdout, log).toMatch(/task fastify-close: ok/)
    expect(code, log).toBe(0)
  }, 60_000)
})
