import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { delay, loggedReport } from '../../../test/support/shutdown.js'
import { get } from './helpers.js'

// A real process that gets SIGTERM while it is still starting: its start-up task is aborted, readiness
// never says 200, the exit code is 0 (a pod stopped while starting is an orderly shutdown), and the logged
// report lists the task as aborted.
// (The fixture loads the built packages, as a user's service does.)
const fixture = fileURLToPath(new URL('./fixtures/startup-service.mjs', import.meta.url))
const children: RunningChild[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.dispose()
})

describe('SIGTERM during start-up', () => {
  it('aborts the start-up task, readiness never comes up, exit code 0, the report lists it', async () => {
    const service = spawnChild(process.execPath, [fixture], { env: { KUBERNETES_SERVICE_HOST: '' } })
    children.push(service)
    const port = Number((await service.waitFor(/^port \d+$/)).split(' ')[1])
    await service.waitFor('startup running')
    const seen: number[] = []
    const startupz = await get('http', port, '/startupz')
    expect(startupz.status).toBe(503)
    let exited = false
    void service.exited.then(() => {
      exited = true
    })
    // Poll readiness through the start-up, the signal and the whole run, until the process is gone.
    const poller = (async () => {
      for (let i = 0; i < 400 && !exited; i++) {
        try {
          seen.push((await get('http', port, '/readyz')).status)
        } catch {
          // The server closed: the drain is done.
        }
        await delay(10)
      }
    })()
    await delay(150)
    service.mark()
    service.child.kill('SIGTERM')
    const { code, elapsedMs } = await service.exited
    await poller
    expect(code, service.stderr.join('\n')).toBe(0)
    expect(elapsedMs).toBeLessThan(5_000)
    expect(seen.length).toBeGreaterThan(5)
    expect(seen.every((status) => status === 503)).toBe(true)
    expect(service.stdout).toContain('startup aborted: LAMEDUCK_ERR_STARTUP_ABORTED')
    const report = loggedReport(service.stderr)
    expect(report?.startup).toMatchObject({
      state: 'aborted',
      tasks: [{ name: 'connect-upstream', outcome: 'aborted', code: 'LAMEDUCK_ERR_STARTUP_ABORTED' }],
    })
    expect(report?.exitCode).toBe(0)
    expect(report?.trigger).toBe('signal')
  })
})
