import { afterAll, describe, expect, it } from 'vitest'
import { firstBlock, project, readReadme, removeProjects, sh, summaries } from '../../../test/support/readme.js'

// The README's service through the simulator with the command the README gives: an end-to-end file (run one
// at a time, see vitest.config.ts).
const readme = readReadme('packages/pino/README.md')

describe('the README service under lameduck-sim', () => {
  afterAll(removeProjects)

  it('passes: 0 dropped while a replica is terminated, which logs through pino and exits 0', async () => {
    const dir = project({ 'server.mjs': firstBlock(readme, 'ts') }, { packages: ['pino'], modules: { pino: 'pino' } })
    const { code, stdout, stderr } = await sh(firstBlock(readme, 'sh'), dir)
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(summaries(stdout), log).toEqual([0])
    expect(stdout, log).toMatch(/verdict\s+PASS/)
    expect(code, log).toBe(0)
    // The replica's last lines, as the simulator shows them: its exit line went through pino's transport.
    expect(stdout, log).toMatch(/"event":"exit","exitCode":0/)
  }, 60_000)
})
