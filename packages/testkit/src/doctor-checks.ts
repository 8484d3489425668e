import { DEFAULTS } from '@lameduck/core'
import { describeValue } from '@lameduck/core/adapter'
import { parse as parseYaml } from 'yaml'
import { DOCTOR_DEFAULTS, DOCTOR_FACTS } from './doctor-defaults.js'
import { DoctorError } from './doctor-errors.js'
import type { DoctorFinding, DoctorFindingCode } from './doctor-findings.js'
import type { DoctorPlan } from './doctor-plan.js'
import type { ManifestObject } from './doctor-yaml.js'

type Path = readonly (string | number)[]
type J = Record<string, unknown>

/** The kinds that run pods, and where their pod template is. */
const WORKLOADS: Record<string, Path> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Pod: [],
}

export interface CheckContext {
  plan: DoctorPlan | undefined
  /** Only these containers are the service's; otherwise see {@link serviceContainers}. */
  containers: readonly string[] | undefined
}

/** What the checks saw: the findings, and the workloads whose containers they checked. */
export interface CheckOutcome {
  findings: DoctorFinding[]
  workloads: ManifestObject[]
  checked: ManifestObject[]
}

export function isWorkload(o: ManifestObject): boolean {
  return Object.hasOwn(WORKLOADS, o.kind)
}

export function checkObjects(objects: readonly ManifestObject[], ctx: CheckContext): CheckOutcome {
  const findings: DoctorFinding[] = []
  const workloads = objects.filter(isWorkload)
  const checked: ManifestObject[] = []
  for (const w of workloads) if (checkWorkload(w, objects, ctx, findings)) checked.push(w)
  return { findings, workloads, checked }
}

// ——— reading a manifest: a wrong type where a check reads is bad input (Kubernetes would refuse it too) ———

function get(o: ManifestObject, path: Path): unknown {
  let v: unknown = o.value
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string | number, unknown>)[key]
  }
  return v
}

type Kind = 'object' | 'array' | 'integer' | 'string' | 'int-or-string'

function field(o: ManifestObject, path: Path, kind: 'object'): J | undefined
function field(o: ManifestObject, path: Path, kind: 'array'): unknown[] | undefined
function field(o: ManifestObject, path: Path, kind: 'integer'): number | undefined
function field(o: ManifestObject, path: Path, kind: 'string'): string | undefined
function field(o: ManifestObject, path: Path, kind: 'int-or-string'): number | string | undefined
function field(o: ManifestObject, path: Path, kind: Kind): unknown {
  const v = get(o, path)
  if (v === undefined || v === null) return undefined
  const ok =
    kind === 'object'
      ? typeof v === 'object' && !Array.isArray(v)
      : kind === 'array'
        ? Array.isArray(v)
        : kind === 'integer'
          ? Number.isInteger(v)
          : kind === 'string'
            ? typeof v === 'string'
            : Number.isInteger(v) || typeof v === 'string'
  if (!ok) {
    const { line } = o.at(path)
    const expected = { object: 'a mapping', array: 'a list', integer: 'a whole number', string: 'a string' }
    throw new DoctorError(
      'LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST',
      `${o.file}:${line}: ${path.join('.')} of ${objectName(o)} must be ${kind === 'int-or-string' ? 'a number or a port name' : expected[kind]}; got ${describeValue(v)}`,
    )
  }
  return v
}

export function objectName(o: ManifestObject): string {
  return `${o.namespace ? `${o.namespace}/` : ''}${o.kind}/${o.name}`
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`
}

// ——— the checks ———

/** Checks one workload; returns whether it had a container of the service to check. */
function checkWorkload(
  w: ManifestObject,
  all: readonly ManifestObject[],
  ctx: CheckContext,
  out: DoctorFinding[],
): boolean {
  const pod = WORKLOADS[w.kind] as Path
  const specPath = [...pod, 'spec']
  const metaPath = [...pod, 'metadata']
  field(w, specPath, 'object')
  const containers = field(w, [...specPath, 'containers'], 'array') ?? []
  const indexes = serviceContainers(w, specPath, containers, ctx)
  if (indexes.length === 0) return false

  const add = (code: DoctorFindingCode, path: Path, message: string, fix: string, container?: string) => {
    const { line, column } = w.at(path)
    out.push({
      code,
      file: w.file,
      line,
      column,
      object: objectName(w),
      ...(container ? { container } : {}),
      message,
      fix,
    })
  }
  const gracePath = [...specPath, 'terminationGracePeriodSeconds']
  const graceGiven = field(w, gracePath, 'integer')
  const graceS = graceGiven ?? DOCTOR_DEFAULTS.terminationGracePeriodSeconds
  const graceAt = graceGiven === undefined ? specPath : gracePath
  const graceSaid =
    graceGiven === undefined
      ? `no terminationGracePeriodSeconds (Kubernetes gives ${graceS} s)`
      : `terminationGracePeriodSeconds is ${graceS}`
  const annotations = (field(w, [...metaPath, 'annotations'], 'object') ?? {}) as J
  const labels = (field(w, [...metaPath, 'labels'], 'object') ?? {}) as J
  const plan = ctx.plan

  for (const i of indexes) {
    const cPath = [...specPath, 'containers', i]
    field(w, cPath, 'object')
    const name = field(w, [...cPath, 'name'], 'string') ?? `#${i}`
    checkPreStop(w, cPath, name, plan, add)
    checkToken(w, cPath, name, add)
    checkPid1(w, cPath, name, add)
    checkProbes(w, cPath, name, plan, add)
    checkGraceTold(w, cPath, name, graceS, graceAt, graceSaid, plan, add)
  }

  if (plan) {
    const needS = graceNeededSeconds(plan)
    if (graceS < needS)
      add(
        'LAMEDUCK_DOCTOR_GRACE_TOO_SHORT',
        graceAt,
        `${graceSaid}, but the plan needs ${seconds(needed(plan))} (${breakdown(plan)}): SIGKILL comes before its last phases end`,
        `set terminationGracePeriodSeconds: ${needS} (and TERMINATION_GRACE_PERIOD_SECONDS to the same), or shorten the budgets`,
      )
  }
  checkSpot(w, specPath, graceS, graceAt, graceSaid, plan, add)
  if (plan) checkSidecars(w, metaPath, annotations, labels, plan, add)
  if (w.kind === 'Deployment' || w.kind === 'StatefulSet') checkPdb(w, all, labels, add)
  return true
}

type Add = (code: DoctorFindingCode, path: Path, message: string, fix: string, container?: string) => void

/**
 * The containers that are the service: those named by `--container`; else those that declare the plan's
 * port, or without a plan those that declare a port at all (a log shipper declares none); every container
 * of the pod when none does.
 */
function serviceContainers(w: ManifestObject, specPath: Path, containers: unknown[], ctx: CheckContext): number[] {
  const all = containers.map((_, i) => i)
  const names = ctx.containers
  if (names) return all.filter((i) => names.includes(String(get(w, [...specPath, 'containers', i, 'name']))))
  const port = ctx.plan?.http.port
  const serving = all.filter((i) =>
    ports(w, [...specPath, 'containers', i]).some((p) => port === undefined || p.containerPort === port),
  )
  return serving.length > 0 ? serving : all
}

interface ContainerPort {
  name: string | undefined
  containerPort: number | undefined
}

function ports(w: ManifestObject, cPath: Path): ContainerPort[] {
  return (field(w, [...cPath, 'ports'], 'array') ?? []).map((_, j) => ({
    name: field(w, [...cPath, 'ports', j, 'name'], 'string'),
    containerPort: field(w, [...cPath, 'ports', j, 'containerPort'], 'integer'),
  }))
}

/** A hook's or probe's `port`: a number, or a name of the container's ports. */
function resolvePort(w: ManifestObject, cPath: Path, port: number | string | undefined) {
  if (port === undefined) return { number: undefined, name: undefined, unknownName: false }
  const list = ports(w, cPath)
  if (typeof port === 'number' || /^\d+$/.test(port)) {
    const number = Number(port)
    return { number, name: list.find((p) => p.containerPort === number)?.name, unknownName: false }
  }
  const entry = list.find((p) => p.name === port)
  return { number: entry?.containerPort, name: port, unknownName: entry === undefined }
}

const pathname = (path: string) => path.replace(/[?#].*$/, '')

const EXEC_HOOK = `lifecycle.preStop.exec.command: ["node", "/app/node_modules/@lameduck/http/bin/lameduck-prestop.js", "--port", "<the service's port>"] (the bin of @lameduck/http, under the image's working directory; no shell needed) with the token from a Secret in the container's env`

/** Whether an exec hook's command runs lameduck's own hook: its bin (by path, or by name on the PATH). */
const isLameduckHook = (line: string) => /(^|[\s/'"])lameduck-prestop(\.js)?($|[\s'"])/.test(line)

/** The module behind the bin, run directly: it only exports `main`, so it exits 0 without calling anything. */
const isPrestopModule = (line: string) => /@lameduck\/http\/dist\/\S*prestop\.c?js/.test(line)

/** A flag's value in an exec command (`--port 3000` or `--port=3000`). */
function flagOf(words: string[], flag: string): string | undefined {
  for (const [i, word] of words.entries()) {
    if (word === flag) return words[i + 1]
    if (word.startsWith(`${flag}=`)) return word.slice(flag.length + 1)
  }
  return undefined
}

function checkPreStop(w: ManifestObject, cPath: Path, name: string, plan: DoctorPlan | undefined, add: Add) {
  const hookPath = [...cPath, 'lifecycle', 'preStop']
  field(w, [...cPath, 'lifecycle'], 'object')
  const hook = field(w, hookPath, 'object')
  const target = plan
    ? `the service's shutdown endpoint (GET ${plan.http.shutdownPath} on port ${plan.http.port})`
    : `the service's shutdown endpoint`
  if (!hook) {
    add(
      'LAMEDUCK_DOCTOR_PRESTOP_MISSING',
      [...cPath, 'name'],
      `container ${name} has no preStop hook: the shutdown starts only at SIGTERM, and no one learns how it went`,
      `add ${EXEC_HOOK}`,
      name,
    )
    return
  }
  const wrong = (path: Path, what: string) =>
    add(
      'LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET',
      path,
      `the preStop hook ${what}`,
      `point it at ${target}, or use ${EXEC_HOOK}`,
      name,
    )

  const httpPath = [...hookPath, 'httpGet']
  if (field(w, httpPath, 'object')) {
    const host = field(w, [...httpPath, 'host'], 'string')
    const path = field(w, [...httpPath, 'path'], 'string') ?? '/'
    const port = resolvePort(w, cPath, field(w, [...httpPath, 'port'], 'int-or-string'))
    const scheme = field(w, [...httpPath, 'scheme'], 'string')
    if (host !== undefined && host !== '')
      wrong(
        [...httpPath, 'host'],
        `sets host: ${host}: the kubelet connects from the node, so ${host} is not the pod (leave host out: the pod IP is the default)`,
      )
    else if (port.unknownName)
      wrong(
        [...httpPath, 'port'],
        `names port ${port.name}, which container ${name} does not declare: the hook fails and the shutdown waits for SIGTERM`,
      )
    else if (plan) {
      const problems: string[] = []
      if (pathname(path) !== plan.http.shutdownPath) problems.push(`calls ${path}, not ${plan.http.shutdownPath}`)
      if (port.number !== undefined && port.number !== plan.http.port)
        problems.push(`goes to port ${port.number}${port.name ? ` (${port.name})` : ''}, not ${plan.http.port}`)
      if (problems.length > 0)
        wrong(
          pathname(path) !== plan.http.shutdownPath ? [...httpPath, 'path'] : [...httpPath, 'port'],
          `${problems.join(' and ')}: the shutdown starts only at SIGTERM`,
        )
    }
    if (scheme?.toUpperCase() === 'HTTPS' && servesHttp(w, cPath, port, plan))
      add(
        'LAMEDUCK_DOCTOR_PRESTOP_HTTPS_ON_HTTP',
        [...httpPath, 'scheme'],
        `the preStop hook uses scheme: HTTPS on port ${port.number ?? port.name}, which serves plain HTTP: the kubelet retries over HTTP without the Authorization header, so ${plan?.http.shutdownPath ?? '/shutdown'} answers 401 and the shutdown starts only at SIGTERM`,
        `remove scheme: HTTPS (the port serves HTTP), or better ${EXEC_HOOK}`,
        name,
      )
    const headers = field(w, [...httpPath, 'httpHeaders'], 'array') ?? []
    for (const [j] of headers.entries()) {
      const header = field(w, [...httpPath, 'httpHeaders', j, 'name'], 'string')
      if (header?.toLowerCase() === 'authorization')
        add(
          'LAMEDUCK_DOCTOR_TOKEN_IN_SPEC',
          [...httpPath, 'httpHeaders', j],
          `the preStop httpGet hook carries the shutdown token in a literal ${header} header: httpHeaders cannot read a Secret, so anyone who can read the ${w.kind} can read the token`,
          `use ${EXEC_HOOK}: the token stays in the Secret`,
          name,
        )
    }
    return
  }
  const execPath = [...hookPath, 'exec', 'command']
  const command = field(w, execPath, 'array')
  if (command) {
    const words = command.map(String)
    const line = words.join(' ')
    if (isPrestopModule(line) && !isLameduckHook(line)) {
      wrong(
        execPath,
        `runs ${JSON.stringify(line)}: the module behind lameduck-prestop, which only exports main — it exits 0 without calling anything, and the shutdown starts only at SIGTERM`,
      )
      return
    }
    if (isLameduckHook(line)) {
      // lameduck-prestop's own flags, against the plan: --socket calls no port; without --port, $PORT.
      if (!plan || flagOf(words, '--socket') !== undefined) return
      const problems: string[] = []
      const path = flagOf(words, '--path') ?? DOCTOR_DEFAULTS.http.shutdownPath
      if (pathname(path) !== plan.http.shutdownPath) problems.push(`calls ${path}, not ${plan.http.shutdownPath}`)
      const portFlag = flagOf(words, '--port')
      const env = field(w, [...cPath, 'env'], 'array') ?? []
      const k = env.findIndex((_, i) => get(w, [...cPath, 'env', i, 'name']) === 'PORT')
      const portEnv = k === -1 ? undefined : get(w, [...cPath, 'env', k, 'value'])
      const port = portFlag ?? (typeof portEnv === 'string' ? portEnv : undefined)
      if (port === undefined) problems.push('has no --port, and the container sets no PORT for it to read')
      else if (Number(port) !== plan.http.port)
        problems.push(`goes to port ${port}${portFlag === undefined ? ' (from PORT)' : ''}, not ${plan.http.port}`)
      if (words.includes('--https') !== plan.http.https)
        problems.push(
          plan.http.https
            ? 'speaks HTTP to a port that serves HTTPS (add --https)'
            : 'has --https, but the port serves HTTP',
        )
      if (problems.length > 0)
        wrong(execPath, `(lameduck-prestop) ${problems.join(' and ')}: the shutdown starts only at SIGTERM`)
      return
    }
    // A URL, with a scheme or (as curl and wget take it) a loopback host and port without one.
    const url =
      /\b(https?):\/\/[^\s/'":]+(?::(\d+))?(\/[^\s'"]*)?/.exec(line) ??
      /(?:^|[\s'"])()(?:localhost|127\.0\.0\.1|\[::1\]):(\d+)(\/[^\s'"]*)?/.exec(line)
    if (!url) {
      wrong(execPath, `runs ${JSON.stringify(line)}, which does not call ${target}`)
      return
    }
    if (!plan) return
    const urlPort = url[2] !== undefined ? Number(url[2]) : url[1] === 'https' ? 443 : 80
    const urlPath = pathname(url[3] ?? '/')
    const problems: string[] = []
    if (urlPath !== plan.http.shutdownPath) problems.push(`calls ${urlPath}, not ${plan.http.shutdownPath}`)
    if (urlPort !== plan.http.port) problems.push(`goes to port ${urlPort}, not ${plan.http.port}`)
    if (problems.length > 0) wrong(execPath, `${problems.join(' and ')}: the shutdown starts only at SIGTERM`)
    return
  }
  if (get(w, [...hookPath, 'sleep']) !== undefined) {
    wrong(
      [...hookPath, 'sleep'],
      `only sleeps: the shutdown starts at SIGTERM after it, and lameduck's own drain delay comes on top of the sleep`,
    )
    return
  }
  wrong(hookPath, `neither calls ${target} over httpGet nor runs lameduck's exec hook`)
}

/** Whether the port a hook names serves plain HTTP: the plan's port (unless it says https), or a port named http/http-*. */
function servesHttp(
  w: ManifestObject,
  cPath: Path,
  port: ReturnType<typeof resolvePort>,
  plan: DoctorPlan | undefined,
): boolean {
  if (plan && port.number === plan.http.port) return !plan.http.https
  const name = port.name ?? ports(w, cPath).find((p) => p.containerPort === port.number)?.name
  return name !== undefined && /^http(-|$)/i.test(name)
}

function checkToken(w: ManifestObject, cPath: Path, name: string, add: Add) {
  const env = field(w, [...cPath, 'env'], 'array') ?? []
  for (const [j] of env.entries()) {
    if (get(w, [...cPath, 'env', j, 'name']) !== 'LAMEDUCK_SHUTDOWN_TOKEN') continue
    const value = get(w, [...cPath, 'env', j, 'value'])
    if (typeof value === 'string' && value !== '')
      add(
        'LAMEDUCK_DOCTOR_TOKEN_IN_SPEC',
        [...cPath, 'env', j, 'value'],
        `LAMEDUCK_SHUTDOWN_TOKEN is a literal value in the ${w.kind}: anyone who can read it can shut the service down`,
        `take it from a Secret: valueFrom: { secretKeyRef: { name: …, key: token } }`,
        name,
      )
  }
}

const PACKAGE_MANAGERS = new Set(['npm', 'yarn', 'pnpm', 'npx'])
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh'])
/** Inits that forward signals to their child: what runs after them is what counts. */
const INITS = new Set(['tini', 'tini-static', 'dumb-init', 'catatonit'])
const base = (word: string) => word.slice(word.lastIndexOf('/') + 1)

/** Why `argv` keeps the stop signal from node, or undefined. */
export function pid1Problem(argv: readonly string[]): string | undefined {
  let i = 0
  const skipFlags = () => {
    while (i < argv.length && (argv[i] as string).startsWith('-')) if (argv[i++] === '--') break
  }
  for (;;) {
    const word = base(argv[i] ?? '')
    if (INITS.has(word)) {
      i++
      skipFlags()
    } else if (word === 'env') {
      i++
      while (i < argv.length && (/^-/.test(argv[i] as string) || /^\w+=/.test(argv[i] as string))) i++
    } else break
  }
  const first = base(argv[i] ?? '')
  if (PACKAGE_MANAGERS.has(first))
    return `${argv.slice(i, i + 2).join(' ')} runs as PID 1 with node as its child: the stop signal reaches ${first}, which does not pass it on and wait for node's shutdown, so node is killed mid-run or never shuts down`
  if (!SHELLS.has(first)) return undefined
  const c = argv.findIndex((a, j) => j > i && /^-[a-z]*c[a-z]*$/.test(a))
  const script = c < 0 ? undefined : argv[c + 1]
  if (script === undefined) return undefined
  const segments = script
    .split(/&&|\|\||[;\n|&]/)
    .map((s) => s.trim())
    .filter(Boolean)
  for (const segment of segments.reverse()) {
    const words = segment.split(/\s+/)
    let j = 0
    const exec = words[j] === 'exec'
    if (exec) j++
    while (j < words.length && (/^\w+=/.test(words[j] as string) || words[j] === 'env')) j++
    const command = base(words[j] ?? '')
    if (PACKAGE_MANAGERS.has(command))
      return `${first} -c runs ${words.slice(j, j + 2).join(' ')}${exec ? ' as PID 1' : ' under the shell'}: the stop signal reaches ${exec ? command : first}, not node`
    if (command === 'node')
      return exec
        ? undefined
        : `${first} -c starts node without exec: the shell stays PID 1 and does not forward the stop signal to node`
  }
  return undefined
}

function checkPid1(w: ManifestObject, cPath: Path, name: string, add: Add) {
  const command = field(w, [...cPath, 'command'], 'array')
  const args = field(w, [...cPath, 'args'], 'array')
  // Without command the image's entrypoint runs args; Node images' entrypoint execs them.
  const argv = (command ? [...command, ...(args ?? [])] : (args ?? [])).map(String)
  const problem = pid1Problem(argv)
  if (problem)
    add(
      'LAMEDUCK_DOCTOR_NODE_NOT_PID1',
      [...cPath, command ? 'command' : 'args'],
      problem,
      `run node itself: command: ["node", "server.js"] (what the start script runs), or end the shell script with exec node …`,
      name,
    )
}

function probe(w: ManifestObject, path: Path) {
  if (!field(w, path, 'object')) return undefined
  const http = field(w, [...path, 'httpGet'], 'object')
  return {
    periodSeconds: field(w, [...path, 'periodSeconds'], 'integer') ?? DOCTOR_DEFAULTS.probe.periodSeconds,
    failureThreshold: field(w, [...path, 'failureThreshold'], 'integer') ?? DOCTOR_DEFAULTS.probe.failureThreshold,
    path: http ? pathname(field(w, [...path, 'httpGet', 'path'], 'string') ?? '/') : undefined,
    port: http ? field(w, [...path, 'httpGet', 'port'], 'int-or-string') : undefined,
    grace: field(w, [...path, 'terminationGracePeriodSeconds'], 'integer'),
  }
}

function checkProbes(w: ManifestObject, cPath: Path, name: string, plan: DoctorPlan | undefined, add: Add) {
  const readyPath = [...cPath, 'readinessProbe']
  const livePath = [...cPath, 'livenessProbe']
  const ready = probe(w, readyPath)
  const live = probe(w, livePath)
  if (ready && plan) {
    const windowMs = ready.periodSeconds * ready.failureThreshold * 1000
    const adaptive = plan.plan.drainDelay
    const delayMs = adaptive ? adaptive.minMs : plan.plan.drainDelayMs
    const delaySaid = adaptive
      ? `the adaptive drain delay's minMs (${seconds(delayMs)})`
      : `the drain delay (${seconds(delayMs)})`
    if (windowMs > delayMs)
      add(
        'LAMEDUCK_DOCTOR_READINESS_SLOWER_THAN_DRAIN',
        readyPath,
        `the readiness probe takes up to ${seconds(windowMs)} (periodSeconds ${ready.periodSeconds} × failureThreshold ${ready.failureThreshold}) to see the service not ready, longer than ${delaySaid}: the endpoints can still send traffic after it stopped waiting for it`,
        `probe more often (periodSeconds: 1 or 2, failureThreshold: 1), or make ${adaptive ? 'minMs' : 'the drain delay'} at least ${seconds(windowMs)}`,
        name,
      )
  }
  if (live?.path !== undefined) {
    const samePort = (a: number | string | undefined, b: number | string | undefined) => {
      const pa = resolvePort(w, cPath, a).number
      const pb = resolvePort(w, cPath, b).number
      return pa === undefined || pb === undefined || pa === pb
    }
    const onReadiness =
      (ready?.path !== undefined && live.path === ready.path && samePort(live.port, ready.port)) ||
      (plan !== undefined && live.path === plan.http.readyPath)
    if (onReadiness)
      add(
        'LAMEDUCK_DOCTOR_LIVENESS_ON_READINESS',
        [...livePath, 'httpGet', 'path'],
        `the liveness probe calls the readiness path ${live.path}: readiness fails on purpose while the service drains, and then liveness fails too — the kubelet restarts a container that only asked for no new traffic`,
        `point livenessProbe at ${plan?.http.livePath ?? 'the liveness path (/healthz)'}, which stays green while draining`,
        name,
      )
  }
  if (live?.grace !== undefined && plan) {
    const needS = graceNeededSeconds(plan)
    if (live.grace < needS)
      add(
        'LAMEDUCK_DOCTOR_GRACE_TOO_SHORT',
        [...livePath, 'terminationGracePeriodSeconds'],
        `the liveness probe's terminationGracePeriodSeconds is ${live.grace}: a container it restarts gets ${live.grace} s, but the plan needs ${seconds(needed(plan))} (${breakdown(plan)})`,
        `raise it to ${needS}, or leave it out (the pod's grace period applies)`,
        name,
      )
  }
}

/** The grace the service plans for: its env `TERMINATION_GRACE_PERIOD_SECONDS`, else the plan's `gracePeriodMs`. */
function checkGraceTold(
  w: ManifestObject,
  cPath: Path,
  name: string,
  graceS: number,
  graceAt: Path,
  graceSaid: string,
  plan: DoctorPlan | undefined,
  add: Add,
) {
  const env = field(w, [...cPath, 'env'], 'array') ?? []
  const j = env.findIndex((_, k) => get(w, [...cPath, 'env', k, 'name']) === 'TERMINATION_GRACE_PERIOD_SECONDS')
  const fix = `set env TERMINATION_GRACE_PERIOD_SECONDS: "${graceS}" in container ${name}, the pod's terminationGracePeriodSeconds`
  if (j >= 0) {
    const value = get(w, [...cPath, 'env', j, 'value'])
    if (value === undefined) return // valueFrom: nothing to compare offline
    if (String(value) !== String(graceS))
      add(
        'LAMEDUCK_DOCTOR_GRACE_MISMATCH',
        [...cPath, 'env', j, 'value'],
        `TERMINATION_GRACE_PERIOD_SECONDS is ${describeValue(value)}, but ${graceSaid}: the service plans its deadline for another grace period than the kubelet's`,
        fix,
        name,
      )
    return
  }
  if (plan && plan.plan.gracePeriodMs !== graceS * 1000)
    add(
      'LAMEDUCK_DOCTOR_GRACE_MISMATCH',
      graceAt,
      `the service plans for a grace period of ${seconds(plan.plan.gracePeriodMs)} (the plan's gracePeriodMs; no TERMINATION_GRACE_PERIOD_SECONDS in container ${name}), but ${graceSaid}`,
      fix,
      name,
    )
}

/** What the plan needs from the first trigger to the exit: the phases' reservations, the margin, the exit reserve. */
function needed(plan: DoctorPlan, graceMs = graceNeededSeconds(plan) * 1000): number {
  const p = plan.plan
  return p.totalMs + p.safetyMarginMs + Math.min(DEFAULTS.exitReserveMs, (graceMs - p.safetyMarginMs) / 10)
}

/** The shortest whole grace period, in seconds, whose time available (as core computes it) covers the phases. */
export function graceNeededSeconds(plan: DoctorPlan): number {
  const { totalMs, safetyMarginMs } = plan.plan
  const available = (graceMs: number) =>
    graceMs - safetyMarginMs - Math.min(DEFAULTS.exitReserveMs, (graceMs - safetyMarginMs) / 10)
  let s = Math.max(1, Math.ceil((totalMs + safetyMarginMs) / 1000))
  while (available(s * 1000) < totalMs) s++
  return s
}

function breakdown(plan: DoctorPlan): string {
  const p = plan.plan
  const parts = p.phases
    .filter((e) => e.reservedMs > 0)
    .map((e) =>
      e.phase === 'readiness' && e.reservedMs === p.drainDelayMs
        ? `drain delay ${seconds(e.reservedMs)}${p.drainDelay ? ' at most' : ''}`
        : `${e.phase} ${seconds(e.reservedMs)}`,
    )
  const reserve = needed(plan) - p.totalMs - p.safetyMarginMs
  return [...parts, `safety margin ${seconds(p.safetyMarginMs)}`, `exit reserve ${seconds(reserve)}`].join(' + ')
}

const SPOT_LABELS: Record<string, string> = {
  'cloud.google.com/gke-spot': 'true',
  'cloud.google.com/gke-provisioning': 'spot',
}

function checkSpot(
  w: ManifestObject,
  specPath: Path,
  graceS: number,
  graceAt: Path,
  graceSaid: string,
  plan: DoctorPlan | undefined,
  add: Add,
) {
  const limit = DOCTOR_FACTS.gkeSpotGraceSeconds
  if (graceS <= limit) return
  let spotAt: Path | undefined
  let spot = ''
  const selector = field(w, [...specPath, 'nodeSelector'], 'object') ?? {}
  for (const [key, value] of Object.entries(selector))
    if (SPOT_LABELS[key] !== undefined && String(value) === SPOT_LABELS[key]) {
      spotAt ??= [...specPath, 'nodeSelector', key]
      spot ||= `nodeSelector ${key}: "${SPOT_LABELS[key]}"`
    }
  const affinity = [...specPath, 'affinity', 'nodeAffinity']
  const terms: Path[] = []
  const required = [...affinity, 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms']
  for (const [t] of (field(w, required, 'array') ?? []).entries()) terms.push([...required, t])
  const preferred = [...affinity, 'preferredDuringSchedulingIgnoredDuringExecution']
  for (const [t] of (field(w, preferred, 'array') ?? []).entries()) terms.push([...preferred, t, 'preference'])
  for (const term of terms)
    for (const [e] of (field(w, [...term, 'matchExpressions'], 'array') ?? []).entries()) {
      const key = get(w, [...term, 'matchExpressions', e, 'key'])
      const operator = get(w, [...term, 'matchExpressions', e, 'operator'])
      const values = (get(w, [...term, 'matchExpressions', e, 'values']) ?? []) as unknown[]
      const wanted = typeof key === 'string' ? SPOT_LABELS[key] : undefined
      if (wanted === undefined) continue
      if (
        (operator === 'In' && Array.isArray(values) && values.map(String).includes(wanted)) ||
        (operator === 'Exists' && key === 'cloud.google.com/gke-spot')
      ) {
        spotAt ??= [...term, 'matchExpressions', e]
        spot ||= `node affinity on ${key}`
      }
    }
  if (!spotAt) return
  const fits = plan ? graceNeededSeconds(plan) <= limit : undefined
  add(
    'LAMEDUCK_DOCTOR_SPOT_GRACE_TOO_LONG',
    graceAt === specPath ? spotAt : graceAt,
    `the pod runs on GKE Spot VMs (${spot}), where a reclaimed node gives ordinary pods ${limit} s, but ${graceSaid}: the service plans for time it will not get`,
    `set terminationGracePeriodSeconds: ${limit} (and TERMINATION_GRACE_PERIOD_SECONDS) and make the plan fit it${fits === false ? ` — it needs ${seconds(needed(plan as DoctorPlan))} now: shorten the drain delay and the budgets` : ''}, or keep the service off Spot`,
  )
}

/** Go durations, as Istio and Linkerd write them: `5s`, `1m30s`, `500ms`. */
export function goDurationMs(text: string): number | undefined {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 }
  if (!/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(text)) return undefined
  let ms = 0
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s|us|µs|ns)/g))
    ms += Number(n) * (units[unit as string] as number)
  return ms
}

function checkSidecars(w: ManifestObject, metaPath: Path, annotations: J, labels: J, plan: DoctorPlan, add: Add) {
  const needMs = plan.plan.totalMs
  const at = (key: string) => [...metaPath, 'annotations', key]
  const short = (path: Path, mesh: string, what: string, ms: number, fix: string) =>
    add(
      'LAMEDUCK_DOCTOR_SIDECAR_DRAIN_TOO_SHORT',
      path,
      `the ${mesh} sidecar ${what} ${seconds(ms)} after termination starts, but the service's shutdown takes up to ${seconds(needMs)} (the plan's totalMs): its calls to stores and services fail once the proxy is gone`,
      fix,
    )

  const inject = String(annotations['sidecar.istio.io/inject'] ?? labels['sidecar.istio.io/inject'] ?? '')
  const istio =
    inject !== 'false' &&
    (inject === 'true' ||
      Object.keys(annotations).some((k) => k.startsWith('sidecar.istio.io/') || k === 'proxy.istio.io/config') ||
      labels['istio.io/rev'] !== undefined)
  if (istio && String(annotations['sidecar.istio.io/nativeSidecar']) !== 'true') {
    const raw = annotations['proxy.istio.io/config']
    let drainMs: number = DOCTOR_FACTS.istioTerminationDrainMs
    if (raw !== undefined) {
      let config: unknown
      try {
        config = parseYaml(String(raw))
      } catch (error) {
        const { line } = w.at(at('proxy.istio.io/config'))
        throw new DoctorError(
          'LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST',
          `${w.file}:${line}: the proxy.istio.io/config annotation of ${objectName(w)} is not YAML: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        )
      }
      const value = (config as J | null)?.terminationDrainDuration
      if (value !== undefined) {
        const parsed = goDurationMs(String(value))
        if (parsed === undefined) {
          const { line } = w.at(at('proxy.istio.io/config'))
          throw new DoctorError(
            'LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST',
            `${w.file}:${line}: terminationDrainDuration of ${objectName(w)} must be a duration like 30s; got ${describeValue(value)}`,
          )
        }
        drainMs = parsed
      }
    }
    if (drainMs < needMs)
      short(
        raw !== undefined ? at('proxy.istio.io/config') : [...metaPath, 'annotations'],
        'Istio',
        `is killed ${raw !== undefined ? '(terminationDrainDuration)' : '(terminationDrainDuration, Istio’s default)'}`,
        drainMs,
        `annotate the pod template with proxy.istio.io/config: "terminationDrainDuration: ${Math.ceil(needMs / 1000)}s", or use native sidecars (sidecar.istio.io/nativeSidecar: "true")`,
      )
  }

  const linkerdInject = String(annotations['linkerd.io/inject'] ?? '')
  const linkerd =
    linkerdInject !== 'disabled' &&
    (linkerdInject === 'enabled' ||
      linkerdInject === 'ingress' ||
      Object.keys(annotations).some((k) => /^config\.(alpha\.|beta\.)?linkerd\.io\//.test(k)))
  const native = [
    'config.alpha.linkerd.io/proxy-enable-native-sidecar',
    'config.beta.linkerd.io/proxy-enable-native-sidecar',
  ]
  if (linkerd && !native.some((k) => String(annotations[k]) === 'true')) {
    const waitKey = 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds'
    const wait = annotations[waitKey]
    const waitMs = wait === undefined ? DOCTOR_FACTS.linkerdWaitBeforeExitMs : Number(wait) * 1000
    const fix = `annotate the pod template with ${waitKey}: "${Math.ceil(needMs / 1000)}" (and config.linkerd.io/shutdown-grace-period at least as long), or use native sidecars (config.beta.linkerd.io/proxy-enable-native-sidecar: "true")`
    if (!(waitMs >= needMs))
      short(
        wait === undefined ? [...metaPath, 'annotations'] : at(waitKey),
        'Linkerd',
        `refuses new requests${wait === undefined ? ' at once (no proxy-wait-before-exit-seconds): it stops' : ': proxy-wait-before-exit-seconds makes it wait only'}`,
        waitMs,
        fix,
      )
    const graceKey = 'config.linkerd.io/shutdown-grace-period'
    const grace = annotations[graceKey]
    if (grace !== undefined) {
      const ms = goDurationMs(String(grace))
      if (ms === undefined) {
        const { line } = w.at(at(graceKey))
        throw new DoctorError(
          'LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST',
          `${w.file}:${line}: ${graceKey} of ${objectName(w)} must be a duration like 30s; got ${describeValue(grace)}`,
        )
      }
      if (ms < needMs) short(at(graceKey), 'Linkerd', 'closes its open connections (shutdown-grace-period)', ms, fix)
    }
  }
}

/** Whether a label selector selects pods with `labels` (null selects nothing, `{}` everything). */
export function selects(selector: unknown, labels: J): boolean {
  if (selector === null || typeof selector !== 'object') return false
  const s = selector as { matchLabels?: J; matchExpressions?: { key: string; operator: string; values?: unknown[] }[] }
  for (const [key, value] of Object.entries(s.matchLabels ?? {}))
    if (String(labels[key]) !== String(value)) return false
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key)
    const values = (e.values ?? []).map(String)
    const ok =
      e.operator === 'In'
        ? has && values.includes(String(labels[e.key]))
        : e.operator === 'NotIn'
          ? !has || !values.includes(String(labels[e.key]))
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false
    if (!ok) return false
  }
  return true
}

function checkPdb(w: ManifestObject, all: readonly ManifestObject[], labels: J, add: Add) {
  const replicasPath = ['spec', 'replicas']
  const replicas = field(w, replicasPath, 'integer')
  const hpa = all.find(
    (o) =>
      o.kind === 'HorizontalPodAutoscaler' &&
      (o.namespace ?? '') === (w.namespace ?? '') &&
      get(o, ['spec', 'scaleTargetRef', 'kind']) === w.kind &&
      get(o, ['spec', 'scaleTargetRef', 'name']) === w.name,
  )
  const hpaMax = hpa ? Number(get(hpa, ['spec', 'maxReplicas']) ?? 1) : 1
  const count = Math.max(replicas ?? 1, hpaMax)
  if (count <= 1) return
  const covered = all.some(
    (o) =>
      o.kind === 'PodDisruptionBudget' &&
      (o.namespace ?? '') === (w.namespace ?? '') &&
      selects(get(o, ['spec', 'selector']), labels),
  )
  if (covered) return
  const said =
    replicas !== undefined && replicas > 1
      ? `replicas: ${replicas}`
      : `up to ${hpaMax} replicas (HorizontalPodAutoscaler/${hpa?.name})`
  add(
    'LAMEDUCK_DOCTOR_PDB_MISSING',
    replicas !== undefined ? replicasPath : ['spec'],
    `${w.kind}/${w.name} has ${said} and no PodDisruptionBudget in the input selects its pods: a node drain may evict them all at once, however well each shuts down`,
    `add a PodDisruptionBudget (policy/v1) with selector.matchLabels of the pod template's labels and maxUnavailable: 1 (pass the folder with every manifest, so the doctor sees it)`,
  )
}
