import { describe, expect, it } from 'vitest'
import { project, readReadme, removeProjects, sh } from '../support/readme.js'

// docs/load-balancers.md's JavaScript, as written, in a user's project.
const doc = readReadme('docs/load-balancers.md')
const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/^ {3}/gm, ''))

describe('docs/load-balancers.md', () => {
  it('its snippet runs: the adaptive delay for an AWS target group is accepted, and says the grace it needs', async () => {
    expect(blocks).toHaveLength(1)
    const dir = project({ 'snippet.mjs': blocks[0] as string })
    const { code, stderr } = await sh('TERMINATION_GRACE_PERIOD_SECONDS=60 node snippet.mjs', dir)
    expect(stderr).not.toMatch(/Error/)
    expect(code).toBe(0)
    removeProjects()
  })
})
