import { readFileSync } from 'node:fs'
import { type ClientRequest, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { parseArgs } from 'node:util'
import { InvalidOptionError, LameduckError, type ShutdownReport } from '@lameduck/core'
import { MAX_TIMER_MS, unknownFlag } from '@lameduck/core/adapter'
import { HTTP_DEFAULTS } from './defaults.js'

// lameduck-prestop: the preStop hook as an `exec` command. It runs inside the container, so it has the
// container's environment (the token from the Secret the service reads) and reaches the service over loopback
// or a Unix socket: no token in the pod spec, no /shutdown on the pod IP. It needs nothing but node — no
// shell, no curl — and the kubelet makes a FailedPreStopHook event, with this program's output, of any
// non-zero exit: so every way of failing exits non-zero with one line that says what to fix.

const NAME = 'lameduck-prestop'

export interface FlagDoc {
  name: string
  value?: string
  help: string
  /** Shown in --help as `(default: …)`. */
  default: string
}

const { probes, prestop } = HTTP_DEFAULTS

/** The flags, in the order --help lists them (the README table is checked against it). */
export const PRESTOP_FLAGS: readonly FlagDoc[] = [
  {
    name: 'port',
    value: 'n',
    help: 'port of the server that serves the shutdown endpoint (the application’s or listenAdmin’s)',
    default: `$${prestop.portEnv}`,
  },
  { name: 'host', value: 'address', help: 'address to call; keep it loopback', default: prestop.host },
  {
    name: 'socket',
    value: 'path',
    help: 'call the Unix socket of listenAdmin({ socketPath }) instead of a port',
    default: 'none',
  },
  { name: 'path', value: 'path', help: 'path of the shutdown endpoint', default: probes.paths.shutdown },
  {
    name: 'token-file',
    value: 'path',
    help: 'read the token from this file (a mounted Secret); wins over the environment',
    default: 'none',
  },
  {
    name: 'token-env',
    value: 'name',
    help: 'environment variable holding the token',
    default: probes.tokenEnv,
  },
  {
    name: 'https',
    help: 'the port serves HTTPS (its certificate is not checked: the call stays on loopback)',
    default: 'off',
  },
  {
    name: 'timeout',
    value: 'duration',
    help: 'give up waiting for the report after this long (500ms, 20s, 1m); exit 3',
    default: 'none, the grace period bounds it',
  },
  { name: 'help', help: 'show this help', default: 'off' },
]

/** Exit codes: documented in --help and the README. */
export const PRESTOP_EXIT = {
  /** The shutdown ran, and its report's exit code is 0. */
  ok: 0,
  /** The shutdown ran, and its report's exit code is not 0: a critical task failed, timed out or was skipped. */
  failed: 1,
  /** Wrong flags, or a token that cannot be read: nothing was sent. */
  usage: 2,
  /** No report: nothing listening, 401, 404, another answer, the connection closed first, `--timeout`. */
  noReport: 3,
} as const

const USAGE = `Usage: ${NAME} [--port <n> | --socket <path>] [--path <path>] [--token-file <path>] [--timeout <duration>]`

export const PRESTOP_HELP = `${NAME} — the preStop hook of a lameduck service, as an exec command: calls its shutdown
endpoint over loopback (or a Unix socket), waits for the report, prints one line and exits non-zero when
the shutdown failed or could not be started. The token comes from the container's environment
(${probes.tokenEnv}, from the same Secret the service reads) or a file: never from the pod spec.

${USAGE}

Options:
${PRESTOP_FLAGS.map((f) => {
  const flag = `--${f.name}${f.value ? ` <${f.value}>` : ''}`
  return `  ${flag.padEnd(22)} ${f.help} (default: ${f.default})`
}).join('\n')}

Exit codes: ${PRESTOP_EXIT.ok} the shutdown ran and its report's exit code is 0; ${PRESTOP_EXIT.failed} it ran and failed (a critical task
failed, timed out or was skipped: the line names them); ${PRESTOP_EXIT.usage} wrong flags or an unreadable token; ${PRESTOP_EXIT.noReport} no report
(nothing listening, 401, 404, the connection closed first, --timeout). The kubelet records a
FailedPreStopHook event, with this output, for any non-zero exit.

In a pod spec (no shell needed; distroless images have node at /nodejs/bin/node):
  lifecycle:
    preStop:
      exec:
        command: ["node", "/app/node_modules/@lameduck/http/bin/${NAME}.js", "--port", "3000"]
`

export interface PrestopIo {
  out: (s: string) => void
  err: (s: string) => void
}

const defaultIo: PrestopIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
}

/** A mistake in the flags or the token: exit 2, nothing sent. */
class UsageError extends Error {}

interface Target {
  /** For messages: `127.0.0.1:3000` or `the socket /run/app/admin.sock`. */
  label: string
  options: RequestOptions
  https: boolean
  path: string
  token: string | undefined
  /** Where the token came from, for messages; `undefined` when there is none. */
  tokenFrom: string | undefined
  timeoutMs: number | undefined
}

/** Runs the hook; resolves to its exit code (see {@link PRESTOP_EXIT}). Never exits the process itself. */
export async function main(
  argv: readonly string[],
  io: PrestopIo = defaultIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let target: Target | 'help'
  try {
    target = parse(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof LameduckError)) throw error
    const code = error instanceof LameduckError ? ` [${error.code}]` : ''
    const message = error.message.replace(`${NAME}: `, '')
    io.err(`${NAME}: ${message}${code}\n${USAGE}\nRun ${NAME} --help for every option.\n`)
    return PRESTOP_EXIT.usage
  }
  if (target === 'help') {
    io.out(PRESTOP_HELP)
    return PRESTOP_EXIT.ok
  }
  const answer = await call(target)
  if ('problem' in answer) {
    io.err(`${NAME}: ${answer.problem}\n`)
    return PRESTOP_EXIT.noReport
  }
  const { report } = answer
  io.out(`${NAME}: ${summary(report)}\n`)
  return report.exitCode === 0 ? PRESTOP_EXIT.ok : PRESTOP_EXIT.failed
}

/** `--prot 3000` → "did you mean --port?", before parseArgs' own message, which suggests nothing. */
function checkFlags(argv: readonly string[]): void {
  const known = PRESTOP_FLAGS.map((f) => f.name)
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--'))
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: every option is a --flag`)
    const [name, inline] = arg.slice(2).split(/=(.*)/s) as [string, string | undefined]
    const flag = PRESTOP_FLAGS.find((f) => f.name === name)
    if (flag) {
      if (flag.value !== undefined && inline === undefined) {
        const value = argv[i + 1]
        if (value === undefined || value.startsWith('--'))
          throw new UsageError(`--${name} needs a value: --${name} <${flag.value}>`)
        i++
      }
      if (flag.value === undefined && inline !== undefined) throw new UsageError(`--${name} takes no value`)
      continue
    }
    throw unknownFlag(NAME, name, known)
  }
}

function parse(argv: readonly string[], env: Record<string, string | undefined>): Target | 'help' {
  checkFlags(argv)
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: Object.fromEntries(PRESTOP_FLAGS.map((f) => [f.name, { type: f.value ? 'string' : 'boolean' }])) as Record<
      string,
      { type: 'string' | 'boolean' }
    >,
  })
  if (values.help) return 'help'
  const str = (name: string) => values[name] as string | undefined
  const https = values.https === true

  const socket = str('socket')
  let label: string
  let options: RequestOptions
  if (socket !== undefined) {
    const other = ['port', 'host'].find((name) => str(name) !== undefined)
    if (other !== undefined)
      throw new UsageError(`--socket and --${other} exclude each other: a socket has no ${other}`)
    if (socket === '') throw new UsageError('--socket needs a path')
    label = `the socket ${socket}`
    options = { socketPath: socket }
  } else {
    const host = str('host') ?? prestop.host
    if (host === '') throw new UsageError('--host needs an address')
    const given = str('port')
    // An empty PORT counts as none, as an empty token does not (that one is a mistake to point out).
    const raw = given ?? (env[prestop.portEnv] || undefined)
    const source = given === undefined ? `${prestop.portEnv} (from the environment)` : '--port'
    if (raw === undefined)
      throw new UsageError(
        `no port: pass --port <n> (the port that serves ${probes.paths.shutdown}), --socket <path>, or set ${prestop.portEnv}`,
      )
    const port = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN
    if (!(port >= 1 && port <= 65535))
      throw new InvalidOptionError(source, `expected a port number from 1 to 65535; got ${JSON.stringify(raw)}`)
    label = `${host.includes(':') ? `[${host}]` : host}:${port}`
    options = { host, port }
  }

  const path = str('path') ?? probes.paths.shutdown
  // Node refuses a path with white space or control characters when the request is made: refused here.
  if (!/^\/[\x21-\x7e]*$/.test(path))
    throw new InvalidOptionError(
      '--path',
      `expected a path starting with "/", without spaces or control characters; got ${JSON.stringify(path)}`,
    )

  const timeout = str('timeout')
  const timeoutMs = timeout === undefined ? undefined : parseTimeout(timeout)

  const { token, tokenFrom } = readToken(str('token-file'), str('token-env') ?? probes.tokenEnv, env)
  return { label, options, https, path, token, tokenFrom, timeoutMs }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

function parseTimeout(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim())
  const ms = match ? Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? Number.NaN) : Number.NaN
  if (!(ms > 0 && ms <= MAX_TIMER_MS))
    throw new InvalidOptionError(
      '--timeout',
      `expected a duration above 0: milliseconds (500) or a number with ms, s or m (500ms, 20s, 1m); got ${JSON.stringify(raw)}`,
    )
  return Math.ceil(ms)
}

/** The token, from `--token-file` or else the environment; none at all is allowed (an admin server without one). */
function readToken(
  file: string | undefined,
  variable: string,
  env: Record<string, string | undefined>,
): { token: string | undefined; tokenFrom: string | undefined } {
  let token: string | undefined
  let from: string | undefined
  if (file !== undefined) {
    from = `--token-file ${file}`
    try {
      // A Secret's file holds the value exactly; a file written by hand often ends with a newline.
      token = readFileSync(file, 'utf8').trim()
    } catch (error) {
      throw new UsageError(`${from}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
    }
    if (token === '') throw new UsageError(`${from}: the file is empty`)
  } else {
    token = env[variable]
    if (token === undefined) return { token: undefined, tokenFrom: undefined }
    from = `${variable} (from the environment)`
    if (token === '') throw new UsageError(`${from} is set but empty`)
  }
  // What the service accepts; anything else could never match, and a header cannot carry some of it.
  const bad = token.search(/[^\x21-\x7e]/)
  if (bad !== -1)
    throw new UsageError(
      `the token from ${from} has a space, control or non-ASCII character at index ${bad} (a token is visible ASCII)`,
    )
  return { token, tokenFrom: from }
}

type Answer = { report: ShutdownReport } | { problem: string }

/** Reports are a few KiB; an answer larger than this is not one. */
const MAX_BODY_BYTES = 4 * 1024 * 1024

function call(target: Target): Promise<Answer> {
  const where = `${target.label}${target.path}`
  return new Promise((resolve) => {
    let settled = false
    const settle = (answer: Answer, keepOpen = false) => {
      if (settled) return
      settled = true
      if (timer) clearTimeout(timer)
      // The answer is read: the connection stays open (unref'd) until this process exits, and the service,
      // which waits for it to close, cannot exit — and take this hook down with its container — first.
      if (keepOpen) req.socket?.unref()
      else req.destroy()
      resolve(answer)
    }
    const send = target.https ? httpsRequest : httpRequest
    let req: ClientRequest
    try {
      req = send({
        ...target.options,
        method: 'POST',
        path: target.path,
        agent: false,
        // Loopback: the service's certificate names its public host, not 127.0.0.1, and nothing sits between.
        ...(target.https ? { rejectUnauthorized: false } : {}),
        headers: {
          'user-agent': NAME,
          'content-length': '0',
          // Not `close` (what Node sends with no agent): the service keeps the connection open after the
          // report, and exits once this process, done with it, has closed it.
          connection: 'keep-alive',
          ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
        },
      })
    } catch (error) {
      // What the flags' checks let through and Node still refuses when building the request.
      resolve({ problem: `could not call ${where}: ${(error as Error).message}` })
      return
    }
    const timer =
      target.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              settle({
                problem:
                  `no report from ${where} within ${target.timeoutMs} ms (--timeout): the shutdown goes on in the ` +
                  'service; the kubelet sends the stop signal next',
              }),
            target.timeoutMs,
          )
    req.once('error', (error: NodeJS.ErrnoException) => settle({ problem: unreachable(target, where, error) }))
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_BODY_BYTES)
          settle({
            problem: `${where} answered ${res.statusCode} with more than ${MAX_BODY_BYTES} bytes: not a report`,
          })
        else chunks.push(chunk)
      })
      res.once('error', (error: NodeJS.ErrnoException) => settle({ problem: unreachable(target, where, error) }))
      res.once('end', () =>
        settle(answerOf(target, where, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')), true),
      )
    })
    req.end()
  })
}

function unreachable(target: Target, where: string, error: NodeJS.ErrnoException): string {
  const code = error.code ?? error.message
  const socket = target.options.socketPath
  switch (error.code) {
    case 'ECONNREFUSED':
      return socket !== undefined
        ? `nothing listens on ${target.label} (ECONNREFUSED): the file is left from a process that is gone`
        : `nothing listens on ${target.label} (ECONNREFUSED): is the service running, and is ${target.path} served ` +
            'on this port (the admin server’s? --port) or on a Unix socket (--socket)?'
    case 'ENOENT':
      return `no socket at ${socket} (ENOENT): has the service started, and is listenAdmin given the same socketPath?`
    case 'EACCES':
      return `permission denied on ${target.label} (EACCES): run the hook as a user that may open the socket`
    case 'ECONNRESET':
    case undefined:
      return (
        `the connection to ${where} closed before the report came (${code}): the service exited or was killed ` +
        '(the end of its grace period?), or this is not a lameduck endpoint'
      )
    default:
      return `could not call ${where} (${code}): ${error.message}`
  }
}

function answerOf(target: Target, where: string, status: number, body: string): Answer {
  if (status === 401)
    return {
      problem:
        target.token === undefined
          ? `${where} answered 401: no token was sent — set ${probes.tokenEnv} in the container's environment ` +
            'from the Secret the service reads, or pass --token-file'
          : `${where} answered 401: the token from ${target.tokenFrom} is not the service's — do the hook and the ` +
            'service read the same Secret (and the same version of it)?',
    }
  if (status === 404)
    return {
      problem:
        `${where} answered 404: no shutdown endpoint there — is it served on another port (the admin server’s: ` +
        `--port), another path (--path), or left out (paths: { shutdown: false })?`,
    }
  const report = asReport(body)
  if (report === undefined || (status !== 200 && status !== 500))
    return { problem: `${where} answered ${status} with no shutdown report: ${preview(body)}` }
  return { report }
}

// What lameduck-prestop reads of a report, with its type: an answer without these fields is not one.
const REPORT_FIELDS = { exitCode: 'number', trigger: 'string', durationMs: 'number' } as const

function asReport(body: string): ShutdownReport | undefined {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return undefined // Not JSON: not a report.
  }
  if (typeof value !== 'object' || value === null) return undefined
  const fields = value as Record<string, unknown>
  const typed = Object.entries(REPORT_FIELDS).every(([key, type]) => typeof fields[key] === type)
  return typed && Array.isArray(fields.phases) ? (value as ShutdownReport) : undefined
}

function preview(body: string): string {
  const line = body.replace(/\s+/g, ' ').trim()
  if (line === '') return '(empty body)'
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/**
 * One line: `shutdown ok: exit code 0, trigger http (POST /shutdown), 5123 ms`, then every task that did not
 * end `ok`, by outcome — `; error: flush-cache [LAMEDUCK_ERR_…]; timeout: http-drain; skipped: pg-pool` —
 * marked `(not critical)` where it did not count, and the uncaught errors of the run.
 */
export function summary(report: ShutdownReport): string {
  const head =
    `shutdown ${report.exitCode === 0 ? 'ok' : 'failed'}: exit code ${report.exitCode}, trigger ${report.trigger}` +
    `${report.reason ? ` (${report.reason})` : ''}, ${Math.round(report.durationMs)} ms`
  const groups: string[] = []
  for (const outcome of ['error', 'timeout', 'skipped'] as const) {
    const tasks = report.phases
      .flatMap((phase) => phase.tasks ?? [])
      .filter((task) => task.outcome === outcome)
      .map((task) => `${task.name}${task.code ? ` [${task.code}]` : ''}${task.critical ? '' : ' (not critical)'}`)
    if (tasks.length > 0) groups.push(`${outcome}: ${tasks.join(', ')}`)
  }
  const uncaught = report.errors?.length ?? 0
  if (uncaught > 0) groups.push(`${uncaught} uncaught error${uncaught === 1 ? '' : 's'} during the run`)
  return [head, ...groups].join('; ')
}
