import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')

/** The first fenced block of `lang` in the README section `heading`, exactly as written. */
function block(heading: string, lang: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section)
  if (!match) throw new Error(`the section "## ${heading}" of README.md has no \`\`\`${lang} block`)
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

/** Runs shell lines with bash in `cwd`, as a user pastes them; the token comes from the lines themselves. */
function sh(lines: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env }
  delete env.LAMEDUCK_SHUTDOWN_TOKEN
  const child = spawn('bash', ['-euo', 'pipefail', '-c', lines], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
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
