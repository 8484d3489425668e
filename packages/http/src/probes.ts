import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import {
  DEFAULTS,
  describeValue,
  InvalidOptionError,
  type Shutdown,
  type ShutdownReport,
  type ShutdownWarning,
  type StartupReport,
} from '@lameduck/core'
import {
  boolean,
  checkOptions,
  optionalFunction,
  optionalObject,
  orDefault,
  requireShutdown,
  settleBy,
} from '@lameduck/core/adapter'
import { createTokenCheck } from './auth.js'
import { HTTP_DEFAULTS } from './defaults.js'
import { ShutdownTokenRequiredError } from './errors.js'
import { protectConnection } from './protect.js'

export type Request = IncomingMessage | Http2ServerRequest
export type Response = ServerResponse | Http2ServerResponse

/** A framework-free handler: answers and returns `true` for its routes, returns `false` for the rest. */
export type ProbeHandler = (req: Request, res: Response) => boolean

export interface ProbeOptions {
  /** Route paths. Default: {@link HTTP_DEFAULTS}`.probes.paths`; `shutdown: false` leaves that route out. */
  paths?: { liveness?: string; readiness?: string; startup?: string; shutdown?: string | false }
  /** Bearer token for `/shutdown`. Default: the environment variable {@link HTTP_DEFAULTS}`.probes.tokenEnv`. */
  token?: string
  /**
   * Whether `/shutdown` may be served without a token. Default: {@link HTTP_DEFAULTS}`.probes.insecure` —
   * without a token, creating the handler throws `ShutdownTokenRequiredError`.
   */
  insecure?: boolean
  /**
   * Extra liveness check; the probe answers 503 when it returns or resolves to false, throws, or has not
   * answered within `DEFAULTS.health.timeoutMs` of core.
   */
  liveness?: () => boolean | Promise<boolean>
  /** Extra readiness check, on top of "not shutting down"; bounded like `liveness`. */
  readiness?: () => boolean | Promise<boolean>
  /** Where the token's environment variable is read. Default: `process.env`. */
  env?: Record<string, string | undefined>
}

/** Every key `ProbeOptions` has, for JavaScript callers' typos. */
export const PROBE_OPTIONS = ['paths', 'token', 'insecure', 'liveness', 'readiness', 'env'] as const
const PATHS = ['liveness', 'readiness', 'startup', 'shutdown'] as const

/**
 * Creates the probe routes:
 * - `GET|HEAD /healthz` — liveness: 200 while no critical liveness check (`shutdown.health`) fails; from the
 *   first trigger on, 200 through the whole shutdown (the checks are no longer asked).
 * - `GET|HEAD /readyz` — readiness: 200 once start-up is done (`shutdown.startup`) while no critical
 *   readiness check fails, until the first trigger; then 503. `degraded` checks keep it 200.
 * - `GET|HEAD /startupz` — for the startupProbe: 503 until every start-up task has finished, then 200.
 * - `?verbose` on those three, with `Authorization: Bearer <token>` (the `/shutdown` token; on the admin
 *   server without one): the same status with every check's result and the start-up tasks. Without the
 *   token, 401: the details are never served to whoever reaches the public port.
 * - `GET|POST /shutdown` — the preStop hook's target: starts (or joins) the shutdown, holds the response
 *   until the report is final, answers 200 with the report (500 when a critical task failed), and lets
 *   the process exit once the response is flushed. Requires `Authorization: Bearer <token>`.
 */
export function createProbes(shutdown: Shutdown, options?: ProbeOptions): ProbeHandler {
  return createProbesFor('createProbes', shutdown, options)
}

/**
 * `createProbes` for a framework adapter (`lameduck()` of `@lameduck/express`, …): the same routes, options
 * and checks, with messages naming the adapter's function — `where` — instead of `createProbes`.
 */
export function createProbesFor(where: string, shutdown: Shutdown, options?: ProbeOptions): ProbeHandler {
  requireShutdown(where, shutdown, `${where}(shutdown, options?)`)
  checkOptions(where, options, PROBE_OPTIONS)
  return probeHandler(where, shutdown, options ?? {}, true)
}

/**
 * The handler, options checked but for unknown keys. `requireToken: false` (the admin server): a missing
 * token is a warning there, not an error. Not exported from the package: a flag of this package's own.
 */
export function probeHandler(
  where: string,
  shutdown: Shutdown,
  options: ProbeOptions,
  requireToken: boolean,
): ProbeHandler {
  const paths = resolvePaths(where, options.paths)
  const insecure = boolean(`insecure of ${where}`, orDefault(options.insecure, HTTP_DEFAULTS.probes.insecure))
  const liveness = optionalFunction(`liveness of ${where}`, options.liveness)
  const readiness = optionalFunction(`readiness of ${where}`, options.readiness)
  const env = orDefault(optionalObject(`env of ${where}`, options.env), process.env)
  const { tokenEnv, minTokenLength } = HTTP_DEFAULTS.probes
  const fromEnv = options.token === undefined
  const token = fromEnv ? env[tokenEnv] : options.token
  if (token !== undefined) {
    const wrong = tokenProblem(token)
    if (wrong)
      throw new InvalidOptionError(
        fromEnv ? `${tokenEnv} (read by ${where})` : `token of ${where}`,
        `expected a non-empty string of visible ASCII characters; got ${wrong}`,
      )
  }
  if (paths.shutdown !== false && token === undefined && !insecure && requireToken)
    throw new ShutdownTokenRequiredError()
  if (token !== undefined && token.length < minTokenLength)
    shutdown.warn({
      code: 'LAMEDUCK_WARN_SHORT_TOKEN',
      message: `the /shutdown token has ${token.length} characters; use at least ${minTokenLength} random ones (e.g. openssl rand -hex 24)`,
    })
  const authorized = token === undefined ? () => true : createTokenCheck(token)
  // The checks' details: on the admin server to anyone who reaches it, on the application port only with
  // the token — and never without one configured.
  const mayDetail = (req: Request) => !requireToken || (token !== undefined && authorized(req.headers))
  const health = (shutdown as Partial<Shutdown>).health
  const startup = (shutdown as Partial<Shutdown>).startup
  /** The start-up as it stands (`done`, no task, for a coordinator without one). */
  const startupReport = (): StartupReport => startup?.report() ?? { state: 'done', tasks: [] }
  let hinted = false

  /** Whether to answer with the details; `undefined` when a `?verbose` request without the right token was answered 401. */
  const verbose = (req: Request, res: Response): boolean | undefined => {
    if (!isVerbose(req.url)) return false
    if (mayDetail(req)) return true
    unauthorized(req, res)
    return undefined
  }

  return (req, res) => {
    const path = pathOf(req.url)
    if (path === paths.liveness) {
      if (!allow(req, res, ['GET', 'HEAD'])) return true
      const detailed = verbose(req, res)
      if (detailed === undefined) return true
      // Through the shutdown, liveness is what it always was: dependencies being closed are no reason to restart.
      const running = shutdown.state === 'running'
      const checks = health && (running || detailed) ? health.status('liveness') : undefined
      void Promise.all([check(liveness, shutdown), checks]).then(([ok, report]) => {
        const status =
          !ok || (running && report?.status === 'failing') ? 'failing' : running && report ? report.status : 'ok'
        send(
          req,
          res,
          status === 'failing' ? 503 : 200,
          detailed ? { status, checks: report?.checks ?? {} } : { status },
        )
      })
      return true
    }
    if (path === paths.readiness) {
      if (!allow(req, res, ['GET', 'HEAD'])) return true
      const detailed = verbose(req, res)
      if (detailed === undefined) return true
      const state = shutdown.state
      const starting = startup !== undefined && startup.state !== 'done'
      const details = () => ({ startup: startupReport() })
      // Not ready once the run began, or while start-up is not done (`starting`: for a core whose isReady() predates it).
      if (!shutdown.isReady() || starting) {
        const status =
          state !== 'running' ? state : startup?.state === 'pending' ? 'starting' : `startup-${startup?.state}`
        if (!detailed) {
          send(req, res, 503, { status })
          return true
        }
        void (health?.status('readiness') ?? Promise.resolve(undefined)).then((report) =>
          send(req, res, 503, { status, state, checks: report?.checks ?? {}, ...details() }),
        )
        return true
      }
      void Promise.all([check(readiness, shutdown), health?.status('readiness')]).then(([ok, report]) => {
        const failing = !ok || report?.status === 'failing'
        const status = failing ? 'not-ready' : report?.status === 'degraded' ? 'degraded' : 'ready'
        const body = detailed ? { status, state, checks: report?.checks ?? {}, ...details() } : { status, state }
        send(req, res, failing ? 503 : 200, body)
      })
      return true
    }
    if (path === paths.startup) {
      if (!allow(req, res, ['GET', 'HEAD'])) return true
      const detailed = verbose(req, res)
      if (detailed === undefined) return true
      const report = startupReport()
      const status = report.state === 'done' ? 'started' : report.state === 'pending' ? 'starting' : report.state
      send(req, res, report.state === 'done' ? 200 : 503, detailed ? { status, startup: report } : { status })
      return true
    }
    if (paths.shutdown !== false && path === paths.shutdown) {
      if (!allow(req, res, ['GET', 'POST'])) return true
      if (!authorized(req.headers)) {
        unauthorized(req, res)
        // The kubelet ignores the 401: without this line nobody learns why the hook did nothing. Once per
        // handler: one preStop per termination, and a caller faking the User-Agent cannot flood the log.
        if (!hinted && isKubelet(req)) {
          hinted = true
          shutdown.warn(kubeletUnauthorized(req))
        }
        return true
      }
      triggerShutdown(shutdown, req, res)
      return true
    }
    return false
  }
}

interface Paths {
  liveness: string
  readiness: string
  startup: string
  shutdown: string | false
}

/** The route paths, defaults filled in, each checked: a path starting with "/", all different. */
function resolvePaths(where: string, given: ProbeOptions['paths']): Paths {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given)))
    throw new InvalidOptionError(
      `paths of ${where}`,
      `expected { liveness?, readiness?, startup?, shutdown? }; got ${describeValue(given)}`,
    )
  checkOptions(`paths of ${where}`, given, PATHS)
  const path = (key: keyof Paths, fallback: string): string | false => {
    const value: unknown = given?.[key]
    if (value === undefined) return fallback
    if (key === 'shutdown' && value === false) return false
    if (typeof value !== 'string' || !value.startsWith('/'))
      throw new InvalidOptionError(
        `paths.${key} of ${where}`,
        `expected a path starting with "/"${key === 'shutdown' ? ' (or false, to leave it out)' : ''}; ` +
          `got ${describeValue(value)}`,
      )
    return value
  }
  const defaults = HTTP_DEFAULTS.probes.paths
  const paths: Paths = {
    liveness: path('liveness', defaults.liveness) as string,
    readiness: path('readiness', defaults.readiness) as string,
    startup: path('startup', defaults.startup) as string,
    shutdown: path('shutdown', defaults.shutdown),
  }
  const taken = PATHS.map((key) => paths[key]).filter((p) => p !== false)
  if (new Set(taken).size !== taken.length)
    throw new InvalidOptionError(
      `paths of ${where}`,
      `each route needs a path of its own; got ${PATHS.map((key) => `${key} ${describeValue(paths[key])}`).join(', ')}`,
    )
  return paths
}

/** What is wrong with a token, without saying what it is (it is a secret); `undefined` when nothing is. */
function tokenProblem(token: unknown): string | undefined {
  if (typeof token !== 'string') return describeValue(token)
  if (token.length === 0) return 'an empty string'
  const bad = token.search(/[^\x21-\x7e]/)
  if (bad !== -1) return `a string of ${token.length} characters with a space, control or non-ASCII one at index ${bad}`
  return undefined
}

/** The kubelet's lifecycle hooks say `User-Agent: kube-lifecycle/<major>.<minor>` (its probes, `kube-probe/…`). */
function isKubelet(req: Request): boolean {
  const agent = req.headers['user-agent']
  return typeof agent === 'string' && agent.startsWith('kube-lifecycle/')
}

function kubeletUnauthorized(req: Request): ShutdownWarning {
  const sent = req.headers.authorization !== undefined
  const { tokenEnv } = HTTP_DEFAULTS.probes
  return {
    code: 'LAMEDUCK_WARN_PRESTOP_UNAUTHORIZED',
    message:
      `the kubelet's preStop hook got 401 from ${pathOf(req.url)}: nothing runs until SIGTERM, and the kubelet ` +
      'ignores the status. ' +
      (sent
        ? `It sent an Authorization header with another token than the service's (${tokenEnv}): the hook's ` +
          'httpHeaders hold a literal copy, stale since the Secret changed — roll the Deployment with the new value. '
        : 'It sent no Authorization header: either the hook has no Authorization header in its httpHeaders, or it says ' +
          'scheme: HTTPS for this plain-HTTP port — the kubelet then retries over HTTP WITHOUT the ' +
          'Authorization header (its LifecycleHTTPFallback event says so); use scheme: HTTP (the default). ') +
      "Better: an exec hook, lameduck-prestop, reads the token from the container's environment and keeps it " +
      'out of the pod spec (docs/kubernetes.md).',
    details: { userAgent: req.headers['user-agent'], authorization: sent ? 'wrong' : 'missing' },
  }
}

function triggerShutdown(shutdown: Shutdown, req: Request, res: Response): void {
  // The exit waits for this response (never past the deadline), and the drain leaves its connection open.
  const release = shutdown.holdExit()
  protectConnection(req)
  // The exit waits for the caller to have read the report and closed the connection, at most
  // `shutdownLingerMs` after the response: an exec hook (lameduck-prestop, curl) runs inside this container
  // and is killed with it, so a process that exits the instant the report is written can take the hook down
  // before it has read it. So the connection is left open after the report (keep-alive, unless the caller
  // asked for close) — except for the kubelet's own httpGet, which runs outside the container.
  const socket = req.socket
  res.once('close', () => {
    if (req.httpVersionMajor >= 2 || !res.writableFinished || socket.destroyed) return release()
    const timer = setTimeout(release, HTTP_DEFAULTS.probes.shutdownLingerMs)
    socket.once('close', () => {
      clearTimeout(timer)
      release()
    })
  })
  req.resume()
  if (req.httpVersionMajor < 2) res.setHeader('connection', keepsOpen(req) ? 'keep-alive' : 'close')
  void shutdown
    .shutdown(`${req.method} ${pathOf(req.url)}`, { trigger: 'http' })
    .then((report: ShutdownReport) => send(req, res, report.exitCode === 0 ? 200 : 500, report))
}

/** Whether the /shutdown connection stays open after the report, for the caller to close. */
function keepsOpen(req: Request): boolean {
  return !isKubelet(req) && !/\bclose\b/i.test(String(req.headers.connection ?? ''))
}

function allow(req: Request, res: Response, methods: string[]): boolean {
  if (methods.includes(req.method ?? '')) return true
  res.setHeader('allow', methods.join(', '))
  send(req, res, 405, { error: 'method not allowed' })
  return false
}

function send(req: Request, res: Response, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded) return
  const json = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-length', Buffer.byteLength(json))
  ;(res as ServerResponse).end(req.method === 'HEAD' ? undefined : json)
}

/**
 * The `liveness` / `readiness` option's answer: `false` when it returns false, throws, or has not answered
 * within a health check's default `timeoutMs` (`DEFAULTS.health.timeoutMs`, on the coordinator's clock) — a
 * slow dependency must not hang the probe (register it with `shutdown.health.check` for a timeout, a cache
 * and a reason of its own).
 */
async function check(fn: (() => boolean | Promise<boolean>) | undefined, shutdown: Shutdown): Promise<boolean> {
  if (!fn) return true
  try {
    const { clock } = shutdown
    const answer = await settleBy(Promise.resolve().then(fn), clock.now() + DEFAULTS.health.timeoutMs, { clock })
    return answer.done && answer.value !== false
  } catch {
    return false
  }
}

/** 401, with the challenge: a `/shutdown` or `?verbose` request without the right token. */
function unauthorized(req: Request, res: Response): void {
  res.setHeader('www-authenticate', 'Bearer realm="lameduck"')
  send(req, res, 401, { error: 'unauthorized' })
}

/** `?verbose`, `?verbose=1`, `?verbose=true` (not `verbose=0` / `false`). */
function isVerbose(url: string | undefined): boolean {
  const q = url?.indexOf('?') ?? -1
  if (q === -1 || url === undefined) return false
  const value = new URLSearchParams(url.slice(q + 1)).get('verbose')
  return value !== null && value !== '0' && value !== 'false'
}

function pathOf(url: string | undefined): string {
  if (!url) return '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
