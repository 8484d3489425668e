import { afterAll, describe, expect, it } from 'vitest'
import { block as blockOf, project, readReadme, removeProjects, sh, summaries } from '../../../test/support/readme.js'

const readme = readReadme('README.md')
const testkitReadme = readReadme('packages/testkit/README.md')
const block = (heading: string, lang: string, text = readme) => blockOf(text, heading, lang)

afterAll(removeProjects)

describe('the root README, as written', () => {
  it('"Check a service before you deploy it" passes for the "An HTTP service" snippet: 0 dropped, exit 0', async () => {
    const service = block('An HTTP service', 'ts')
    const command = block('Check a service before you deploy it', 'sh')
    // The command runs the snippet under the name the README gives it.
    expect(command).toMatch(/-- node server\.mjs\s*$/)
    const dir = project({ 'server.mjs': service })

    const { code, stdout, stderr } = await sh(command, dir)
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(stdout, log).toMatch(/^0 of [1-9]\d* requests failed$/m)
    expect(stdout, log).toMatch(/verdict\s+PASS/)
    // The preStop hook reached /shutdown with the token, and the service's report came back.
    expect(stdout, log).toMatch(/preStop\s+GET \/shutdown → 200 in \d+ ms/)
    expect(stdout, log).toMatch(/lameduck\s+triggered at .*\(exit 0\)/)
    expect(stdout, log).toMatch(/exit\s+\+\d+ ms, code 0/)
    expect(code, log).toBe(0)
  }, 60_000)
})

describe('the testkit README, as written', () => {
  const rootService = () => block('An HTTP service', 'ts')

  it('"Connection churn": a 2 s delay behind 3 s of propagation loses nothing under keep-alive, requests under churn', async () => {
    const dir = project({ 'server.mjs': block('Connection churn', 'js', testkitReadme) })
    const { stdout, stderr } = await sh(block('Connection churn', 'sh', testkitReadme), dir, { each: true })
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    const [keepAlive, churn] = summaries(stdout)
    expect(keepAlive, log).toBe(0)
    expect(churn, log).toBeGreaterThan(0)
    expect(stdout, log).toMatch(
      /load .*, keep-alive, \d+ connections opened\n[\s\S]*load .*, a new connection every 20 requests/,
    )
    expect(stdout, log).toMatch(/failures by kind {2}ECONNREFUSED \d+/)
  }, 60_000)

  it('"The preStop httpGet, as the kubelet sends it": https on a plain-HTTP /shutdown is a 401 that says why', async () => {
    const dir = project({ 'server.mjs': rootService() })
    const { code, stdout, stderr } = await sh(
      block('The preStop httpGet, as the kubelet sends it', 'sh', testkitReadme),
      dir,
    )
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(stdout, log).toMatch(
      /verdict +FAIL: preStop \/shutdown answered 401: port \d+ answered the https hook in plain HTTP/,
    )
    expect(stdout, log).toMatch(
      /preStop +GET \/shutdown → 401 in \d+ ms \(https answered in plain HTTP: sent again over http without Authorization\)/,
    )
    expect(code, log).toBe(1)
  }, 60_000)

  it('"preStop exec hooks": the hook shuts the service down with the token from its environment', async () => {
    const dir = project({
      'server.mjs': rootService(),
      'prestop.mjs': block('preStop exec hooks', 'js', testkitReadme),
    })
    const { code, stdout, stderr } = await sh(block('preStop exec hooks', 'sh', testkitReadme), dir)
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(stdout, log).toMatch(/verdict +PASS/)
    expect(stdout, log).toMatch(/preStop +exec node prestop\.mjs → /)
    // The hook started the shutdown: /shutdown, not the stop signal.
    expect(stdout, log).toMatch(/"trigger":"http"/)
    expect(summaries(stdout), log).toEqual([0])
    expect(code, log).toBe(0)
  }, 60_000)

  it('"Budgets that are not the pod spec\'s": told 12 s with 6 s given is SIGKILLed, told 6 s is not', async () => {
    const heading = "Budgets that are not the pod spec's"
    const dir = project({ 'server.mjs': block(heading, 'js', testkitReadme) })
    const { stdout, stderr } = await sh(block(heading, 'sh', testkitReadme), dir, { each: true })
    const log = `stdout:\n${stdout}\nstderr:\n${stderr}`
    const runs = stdout.split(/^\d+ of \d+ requests failed$/m)
    expect(runs, log).toHaveLength(3)
    const [told12, told6] = runs as [string, string]
    expect(told12, log).toMatch(/SIGKILL needed +yes/)
    expect(told12, log).toMatch(/SIGKILL was needed: .*: it was told 12 s \(TERMINATION_GRACE_PERIOD_SECONDS\)/)
    expect(told12, log).not.toMatch(/flush-events: ok/)
    expect(told6, log).toMatch(/SIGKILL needed +no/)
    expect(told6, log).toMatch(/task flush-events: ok/)
  }, 90_000)
})
