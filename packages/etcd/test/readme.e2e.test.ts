import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { collected } from '../../../test/support/child.js'
import { project, readReadme, removeProjects } from '../../../test/support/readme.js'
import { describeWith } from '../../../test/support/services.js'
import { cleanUp, etcdClient, etcdHosts, until } from './helpers.js'

// The snippet at the top of the README, saved as a user's server.mjs and run as written against a real etcd:
// its registration, candidate and lock keys appear; at SIGTERM they are all gone and the process exits 0.
const readme = readReadme('packages/etcd/README.md')
const snippet = readme.slice(readme.indexOf('```ts\n') + 6, readme.indexOf('```\n', readme.indexOf('```ts\n')))

afterAll(async () => {
  removeProjects()
  await cleanUp()
})

await describeWith('etcd', 'the README, as written', () => {
  it('the snippet registers, leads and locks; SIGTERM revokes it all and exits 0', async () => {
    const pod = `readme-${randomUUID().slice(0, 8)}`
    const dir = project({ 'server.mjs': snippet }, { packages: ['etcd'], modules: { etcd3: 'etcd' } })
    const child = spawn(process.execPath, [join(dir, 'server.mjs')], {
      cwd: dir,
      env: { ...process.env, ETCD_HOSTS: etcdHosts(), HOSTNAME: pod, POD_IP: '10.1.2.3:8080' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const done = collected(child)
    const client = etcdClient()
    const present = async () =>
      (await client.get(`services/api/${pod}`).string()) === '10.1.2.3:8080' &&
      (await client.get('jobs/nightly-report').string()) !== null
    try {
      await until(present, 15_000)
      const leader = await client.election('api-scheduler').leader()
      expect(leader).toBe(pod)
    } finally {
      child.kill('SIGTERM')
    }
    const { code, stdout, stderr } = await done
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(code, log).toBe(0)
    expect(stdout, log).toMatch(
      /^leading as election\/api-scheduler\/\d+, holding jobs\/nightly-report with fence \d+$/m,
    )
    expect(stderr, log).toMatch(/"event":"etcd.lease.revoked".*"locks":1,"registrations":1,"leaderships":1/)
    expect(await client.get(`services/api/${pod}`).string()).toBeNull()
    expect(await client.get('jobs/nightly-report').string()).toBeNull()
    expect(await client.election('api-scheduler').leader()).toBeUndefined()
  })
})
