// Running a README's snippets as written: its fenced blocks, saved into a user's project whose node_modules
// holds the built workspace packages (links, like pnpm's), and its shell lines run with bash there.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { collected } from './child.js'
import { listen } from './servers.js'

export const root = fileURLToPath(new URL('../../', import.meta.url))

/** A README of the repository, by its path from the root (`packages/fastify/README.md`). */
export function readReadme(path: string): string {
  return readFileSync(join(root, path), 'utf8')
}

/** The first fenced block of `lang` in the section `heading` (`## heading`) of a README's text, as written. */
export function block(text: string, heading: string, lang: string): string {
  const start = text.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`the README has no section "## ${heading}"`)
  const end = text.indexOf('\n## ', start + 1)
  const section = text.slice(start, end < 0 ? undefined : end)
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section)
  if (!match) throw new Error(`the section "## ${heading}" of the README has no \`\`\`${lang} block`)
  return match[1] as string
}

/** The first fenced block of `lang` anywhere in a README's text (the snippet at its top), as written. */
export function firstBlock(text: string, lang: string): string {
  const match = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(text)
  if (!match) throw new Error(`the README has no \`\`\`${lang} block`)
  return match[1] as string
}

const dirs: string[] = []

/** Removes every project made by {@link project} (call it from `afterAll`). */
export function removeProjects(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/**
 * A user's project: `files` beside a node_modules holding the workspace packages `packages`, by their folders
 * under packages/ and linked at their package names (always core, http and testkit, with `lameduck-sim` in
 * node_modules/.bin; `socketio` is `@lameduck/socket.io`) and the third-party `modules` a package of the
 * workspace depends on (`{ fastify: 'fastify' }`: packages/fastify's own `fastify`), as an install would.
 */
export function project(
  files: Record<string, string>,
  { packages = [], modules = {} }: { packages?: string[]; modules?: Record<string, string> } = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-readme-'))
  dirs.push(dir)
  writeFileSync(join(dir, 'package.json'), '{ "name": "readme-service", "private": true }\n')
  mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
  mkdirSync(join(dir, 'node_modules/.bin'))
  for (const pkg of new Set(['core', 'http', 'testkit', ...packages])) {
    const folder = join(root, 'packages', pkg)
    const { name } = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { name: string }
    symlinkSync(folder, join(dir, 'node_modules', name), 'dir')
  }
  for (const [module, from] of Object.entries(modules)) {
    const target = join(dir, 'node_modules', module)
    mkdirSync(join(target, '..'), { recursive: true })
    symlinkSync(join(root, 'packages', from, 'node_modules', module), target, 'dir')
  }
  symlinkSync(join(root, 'packages/testkit/bin/lameduck-sim.js'), join(dir, 'node_modules/.bin/lameduck-sim'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

/**
 * Runs shell lines with bash in `cwd`, as a user pastes them; the token comes from the lines themselves. With
 * `each`, a failing line does not stop the next one (two runs to compare, the first failing), and the code
 * is the last line's.
 */
export function sh(
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

/** The run summaries `lameduck-sim` prints last, one per command: `N of M requests failed`. */
export const summaries = (stdout: string): number[] =>
  [...stdout.matchAll(/^(\d+) of (\d+) requests failed$/gm)].map((m) => Number(m[1]))

/** A README's service running in its project: `node server.mjs`, as its user would start it. */
export interface Service {
  /** The port it was given (PORT): free a moment before it started. */
  port: number
  /** Everything it wrote so far, stdout and stderr as they came: for the messages of assertions. */
  readonly output: string
  /** Its exit code, once it has exited and its output is all in. */
  exited: Promise<number | null>
  /**
   * Calls `connect(port)` until it resolves, every 100 ms and 100 times at most (the service is starting):
   * what it resolved, or undefined if it never did.
   */
  reach<T>(connect: (port: number) => Promise<T>): Promise<T | undefined>
  /** Sends `signal` (SIGTERM: the drain) if it still runs; SIGKILL by default, for a `finally`. */
  kill(signal?: NodeJS.Signals): void
}

/**
 * Starts `node server.mjs` in the project `dir` on a free port (PORT) with a shutdown token, outside
 * Kubernetes (no KUBERNETES_SERVICE_HOST), `env` added.
 */
export async function serve(dir: string, { env = {} }: { env?: Record<string, string> } = {}): Promise<Service> {
  const probe = createServer()
  const port = await listen(probe)
  await new Promise((resolve) => probe.close(resolve))
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    LAMEDUCK_SHUTDOWN_TOKEN: 'readme-token-0123456789',
    ...env,
  }
  delete childEnv.KUBERNETES_SERVICE_HOST
  const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
  return {
    port,
    get output() {
      return output
    },
    exited,
    async reach(connect) {
      for (let i = 0; i < 100; i++) {
        try {
          return await connect(port)
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      return undefined
    },
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
  }
}
