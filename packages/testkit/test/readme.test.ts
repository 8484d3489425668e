import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { collected } from '../../../test/support/child.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const testkitReadme = readFileSync(join(root, 'packages/testkit/README.md'), 'utf8')

/** The first fenced block of `lang` in the section `heading` of a README (the root one by default), as written. */
function block(heading: string, lang: string, text = readme): string {
  const start = text.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`the README has no section "## ${heading}"`)
  const end = text.indexOf('\n## ', start + 1)
  const section = text.slice(start, end < 0 ? undefined : end)
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section)
  if (!match) throw new Error(`the section "## ${heading}" of the README has no \`\`\`${lang} block`)
  return match[1] as string
}

/**
 * A user's project: the snippet saved as server.mjs beside a node_modules that holds the built workspace
 * packages, as an install would (links, like pnpm's).
 */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-readme-'))
  writeFileSync(join(dir, 'package.json'), '{ "name": "readme-service", "private": true }\n')
  mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
  mkdirSync(join(dir, 'node_modules/.bin'))
  for (const pkg of ['core', 'http', 'testkit'])
    symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
  symlinkSync(join(root, 'packages/testkit/bin/lameduck-sim.js'), join(dir, 'node_modules/.bin/lameduck-sim'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * Runs shell lines with bash in `cwd`, as a user pastes them; the token comes from the lines themselves. With
 * `each`, a failing line does not stop the next one (two runs to compare, the first failing), and the code
 * is the last line's.
 */
function sh(
  lines: string,
  cwd: string,
  { each = false } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env }
  delete env.LAMEDUCK_SHUTDOWN_TOKEN
  const flags = each ? ['-uo', 'pipefail'] : ['-euo', 'pipefail']
  const child = spawn('bash', [...flags, '-c', lines], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  return collected(child)
}

describe('the root README, as written', () => {
  it('"Check a service before you deploy it" passes for the "An HTTP service" snippet: 0 dropped, exit 0', async () => {
    const service = block('An HTTP service', 'ts')
    const command = block('Check a service before you deploy it', 'sh')
    // The command runs the snippet under the name the README gives it.
    expect(command).toMatch(/-- node server\.mjs\s*$/)
    const dir = project({ 'server.mjs': service })
    dirs.push(dir)

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
  /** The run summaries the CLI prints last, one per command: `N of M requests failed`. */
  const summaries = (stdout: string) =>
    [...stdout.matchAll(/^(\d+) of (\d+) requests failed$/gm)].map((m) => Number(m[1]))
  const rootService = () => block('An HTTP service', 'ts')

  it('"Connection churn": a 2 s delay behind 3 s of propagation loses nothing under keep-alive, requests under churn', async () => {
    const dir = project({ 'server.mjs': block('Connection churn', 'js', testkitReadme) })
    dirs.push(dir)
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
    dirs.push(dir)
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
    dirs.push(dir)
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
    dirs.push(dir)
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
