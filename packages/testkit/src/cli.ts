import { constants } from 'node:os'
import { InvalidOptionError, LameduckError } from '@lameduck/core'
import { errorMessage } from '@lameduck/core/adapter'
import { splitCommand } from './command-line.js'
import { SIM_DEFAULTS } from './defaults.js'
import { parseDuration } from './duration.js'
import { SimulatorError } from './errors.js'
import { COMMON_FLAGS, type FlagDoc, flagHelp, parseFlags } from './flags.js'
import { formatResult } from './format.js'
import type { SimulationOptions } from './options.js'
import { simulateTermination } from './simulate.js'

const DOCS: readonly FlagDoc[] = [
  { name: 'concurrency', value: 'n', help: 'concurrent callers', default: SIM_DEFAULTS.concurrency },
  {
    name: 'think',
    value: 'duration',
    help: 'mean pause between a caller’s requests (bursty load)',
    default: SIM_DEFAULTS.think,
  },
  {
    name: 'churn',
    value: 'n',
    help: 'each caller ends its connection every n requests',
    default: 'none: keep-alive',
  },
  { name: 'no-keepalive', help: 'a new connection for every request (--churn 1)', default: 'off' },
  { name: 'path', value: 'path', help: 'path of the load requests', default: SIM_DEFAULTS.path },
  {
    name: 'long',
    value: 'duration',
    help: 'also send long requests of this duration, pinned to replica A',
    default: 'none',
  },
  { name: 'long-count', value: 'n', help: 'how many long requests', default: SIM_DEFAULTS.longCount },
  {
    name: 'long-path',
    value: 'path',
    help: 'path of the long requests; {ms} is their duration',
    default: SIM_DEFAULTS.longPath,
  },
  {
    name: 'ws',
    value: 'n',
    help: 'also n WebSocket clients that send messages, expect echoes, reconnect when closed',
    default: 'none',
  },
  { name: 'ws-path', value: 'path', help: 'path of the WebSocket connections', default: SIM_DEFAULTS.wsPath },
  {
    name: 'ws-interval',
    value: 'duration',
    help: 'each WebSocket client sends a message this often',
    default: SIM_DEFAULTS.wsInterval,
  },
  { name: 'prestop', value: 'path', help: 'preStop httpGet path (e.g. /shutdown)', default: 'none: signal only' },
  {
    name: 'prestop-header',
    value: "'Name: value'",
    help: 'header of the preStop request (repeatable)',
    default: 'none',
    multiple: true,
  },
  {
    name: 'prestop-port',
    value: 'port|admin',
    help: "preStop port: a number, 'port' (PORT) or 'admin' (ADMIN_PORT)",
    default: SIM_DEFAULTS.preStopPort,
  },
  {
    name: 'prestop-scheme',
    value: 'http|https',
    help: 'preStop httpGet scheme (https: unverified, http fallback drops Authorization)',
    default: SIM_DEFAULTS.preStopScheme,
  },
  {
    name: 'prestop-exec',
    value: "'command'",
    help: 'a preStop exec hook instead (split like a shell line, but no shell)',
    default: 'none',
  },
  {
    name: 'kubelet-version',
    value: 'major.minor',
    help: 'kubelet version in the User-Agent kube-lifecycle/<version>',
    default: SIM_DEFAULTS.kubeletVersion,
  },
  { name: 'signal', value: 'name', help: 'stop signal', default: SIM_DEFAULTS.signal },
  {
    name: 'grace',
    value: 'duration',
    help: 'the kubelet’s budget (terminationGracePeriodSeconds…), preStop included',
    default: SIM_DEFAULTS.grace,
  },
  {
    name: 'propagation',
    value: 'duration',
    help: 'time until replica A leaves the proxy’s endpoints',
    default: SIM_DEFAULTS.propagation,
  },
  { name: 'warmup', value: 'duration', help: 'load before termination starts', default: SIM_DEFAULTS.warmup },
  { name: 'tail', value: 'duration', help: 'load after A exited and left the endpoints', default: SIM_DEFAULTS.tail },
  {
    name: 'startup-timeout',
    value: 'duration',
    help: 'time a replica may take to listen on PORT',
    default: SIM_DEFAULTS.startupTimeout,
  },
  {
    name: 'readiness',
    value: 'path',
    help: 'readinessProbe path: traffic to a replica once it answers 200 there',
    default: 'none: once listening',
  },
  {
    name: 'request-timeout',
    value: 'duration',
    help: 'a request slower than this fails as timeout',
    default: SIM_DEFAULTS.requestTimeout,
  },
  {
    name: 'proxy-port',
    value: 'port',
    help: 'port of the kube-proxy stand-in; 0 picks a free one',
    default: SIM_DEFAULTS.proxyPort,
  },
  {
    name: 'env',
    value: 'K=V',
    help: 'environment for both replicas (repeatable)',
    default: 'none',
    multiple: true,
  },
  ...COMMON_FLAGS,
]

/** Signals that interrupt a run: the replicas' groups are killed, and the exit code is 128 + the signal's number. */
const INTERRUPTS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']

export const HELP = `lameduck-sim — run two replicas of a service behind a kube-proxy-like proxy under HTTP load
(keep-alive, or callers that open new connections: --churn, --no-keepalive; WebSocket clients with --ws),
terminate replica A as the kubelet does, and count every failed request, dropped WebSocket and lost message.

Usage: lameduck-sim [options] -- <command> [args…]

Each replica gets PORT (and ADMIN_PORT) in its environment, with what Kubernetes sets in every container
(HOSTNAME, KUBERNETES_SERVICE_HOST, …) — not TERMINATION_GRACE_PERIOD_SECONDS, which only a pod spec sets:
pass it with --env (it may say more than --grace gives: a spot or eviction budget). Durations: ms, or
500ms / 8s / 1m.

Options:
${flagHelp(DOCS, 32)}

Exit codes: 0 passed; 1 failed, each reason stated: a request failed, a WebSocket was dropped (1006), failed
to reconnect or lost a message, SIGKILL was needed, replica A did not
exit with code 0, its shutdown report names a critical task skipped, timed out or failed, the preStop
hook failed or answered anything but 2xx (401, 404, 405…), or the exec hook exited non-zero; 2 the service
could not be run or the options are wrong; 128 + the signal's number when interrupted by SIGINT (130),
SIGTERM (143), SIGHUP (129) or SIGQUIT (131). The replicas never outlive lameduck-sim.

Example:
  export LAMEDUCK_SHUTDOWN_TOKEN=$(openssl rand -hex 24)
  lameduck-sim --prestop /shutdown --prestop-header "Authorization: Bearer $LAMEDUCK_SHUTDOWN_TOKEN" -- node server.mjs
`

/** Runs the CLI; returns its exit code. */
export async function main(argv: string[], io: { out: (s: string) => void; err: (s: string) => void } = defaultIo) {
  let options: SimulationOptions
  let json = false
  try {
    const parsed = parse(argv)
    if (parsed === 'help') {
      io.out(HELP)
      return 0
    }
    ;({ options, json } = parsed)
  } catch (error) {
    const code = error instanceof LameduckError ? ` [${error.code}]` : ''
    const message = (error as Error).message.replace(/^lameduck-sim: /, '')
    io.err(`lameduck-sim: ${message}${code}\nRun lameduck-sim --help for usage.\n`)
    return 2
  }

  const controller = new AbortController()
  let interrupt: NodeJS.Signals | undefined
  // The first signal aborts the run, which kills the replicas' process groups; a second one gets its default
  // action, and the reaper (see reaper.ts) kills the replicas then.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupt ??= signal
    controller.abort()
  }
  for (const signal of INTERRUPTS) process.once(signal, onSignal)
  const live = !json && process.stderr.isTTY
  try {
    const result = await simulateTermination({
      ...options,
      signalAbort: controller.signal,
      onProgress: live
        ? (p) =>
            io.err(
              `\r  ${p.stage.padEnd(11)} ${(p.elapsedMs / 1000).toFixed(1)}s  ${p.requests} requests  ` +
                `${p.failed} failed  ${Math.round(p.requestsPerSecond)} req/s   `,
            )
        : undefined,
    })
    if (live) io.err('\r\x1b[K')
    io.out(
      json
        ? `${JSON.stringify(result)}\n`
        : `${formatResult(result)}\n\n${result.failed} of ${result.requests} requests failed\n`,
    )
    return result.passed ? 0 : 1
  } catch (error) {
    if (live) io.err('\r\x1b[K')
    if (error instanceof SimulatorError && error.code === 'LAMEDUCK_ERR_SIM_ABORTED') {
      const signal = interrupt ?? 'SIGINT'
      io.err(`lameduck-sim: interrupted by ${signal}; replicas killed\n`)
      return 128 + constants.signals[signal]
    }
    const message = asFlags(error)
    const code = error instanceof LameduckError ? ` [${error.code}]` : ''
    io.err(`lameduck-sim: ${message}${code}\n`)
    if (error instanceof SimulatorError && error.output.length)
      io.err(`last output of the replica:\n${error.output.map((l) => `  ${l}`).join('\n')}\n`)
    return 2
  } finally {
    for (const signal of INTERRUPTS) process.removeListener(signal, onSignal)
  }
}

/**
 * The flag of each option: what `parse` reads it from, and what a message of the library's own checks about
 * that option names instead of it.
 */
const FLAG_OF = {
  concurrency: 'concurrency',
  think: 'think',
  churn: 'churn',
  path: 'path',
  long: 'long',
  longCount: 'long-count',
  longPath: 'long-path',
  ws: 'ws',
  wsPath: 'ws-path',
  wsInterval: 'ws-interval',
  preStop: 'prestop',
  preStopHeaders: 'prestop-header',
  preStopPort: 'prestop-port',
  preStopScheme: 'prestop-scheme',
  preStopExec: 'prestop-exec',
  kubeletVersion: 'kubelet-version',
  signal: 'signal',
  grace: 'grace',
  propagation: 'propagation',
  warmup: 'warmup',
  tail: 'tail',
  startupTimeout: 'startup-timeout',
  readinessPath: 'readiness',
  requestTimeout: 'request-timeout',
  proxyPort: 'proxy-port',
  env: 'env',
} as const satisfies Partial<Record<keyof SimulationOptions, string>>

/**
 * An error's message, with the library option it starts with (`readinessPath: expected a path…`) replaced
 * by the flag that gave it (`--readiness: expected a path…`): the user typed flags, not option names.
 */
function asFlags(error: unknown): string {
  const message = errorMessage(error)
  const option = (error as { option?: unknown } | null)?.option
  if (typeof option !== 'string' || !message.startsWith(option)) return message
  // `env.POD_NAME`, `preStopHeaders.x`: the flag, then what of it (`--env POD_NAME`).
  const [key = '', ...rest] = option.split('.')
  const flag = (FLAG_OF as Partial<Record<string, string>>)[key]
  if (flag === undefined) return message
  return `--${flag}${rest.length > 0 ? ` ${rest.join('.')}` : ''}${message.slice(option.length)}`
}

const defaultIo = {
  out: (s: string) => void process.stdout.write(s),
  err: (s: string) => void process.stderr.write(s),
}

function parse(argv: string[]): 'help' | { options: SimulationOptions; json: boolean } {
  const { values, positionals } = parseFlags('lameduck-sim', DOCS, argv)
  if (values.help) return 'help'
  if (positionals.length === 0) throw new Error('missing the service command after --')
  const str = (name: string) => values[name] as string | undefined
  const int = (name: string) => {
    const raw = str(name)
    if (raw === undefined) return undefined
    if (!/^\d+$/.test(raw)) throw new InvalidOptionError(`--${name}`, `expected a whole number, got ${raw}`)
    return Number(raw)
  }
  // Parsed here so that a message names the flag (`--startup-timeout`), not the library's option.
  const duration = (name: string) => {
    const raw = str(name)
    return raw === undefined ? undefined : parseDuration(`--${name}`, raw)
  }
  const headers: Record<string, string> = {}
  for (const header of (values[FLAG_OF.preStopHeaders] as string[] | undefined) ?? []) {
    const at = header.indexOf(':')
    if (at <= 0) throw new InvalidOptionError('--prestop-header', `expected 'Name: value', got ${header}`)
    headers[header.slice(0, at).trim().toLowerCase()] = header.slice(at + 1).trim()
  }
  const env: Record<string, string> = {}
  for (const pair of (values[FLAG_OF.env] as string[] | undefined) ?? []) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new InvalidOptionError('--env', `expected K=V, got ${pair}`)
    env[pair.slice(0, at)] = pair.slice(at + 1)
  }
  if (values['no-keepalive'] && str(FLAG_OF.churn) !== undefined)
    throw new InvalidOptionError('--no-keepalive', 'is --churn 1: give one of --churn and --no-keepalive')
  const churn = values['no-keepalive'] ? 1 : int(FLAG_OF.churn)
  const preStopExecRaw = str(FLAG_OF.preStopExec)
  const preStopExec = preStopExecRaw === undefined ? undefined : splitCommand('--prestop-exec', preStopExecRaw)
  if (preStopExec && Object.keys(headers).length > 0)
    throw new InvalidOptionError('--prestop-header', 'is for the httpGet hook (--prestop), not --prestop-exec')
  const preStopSchemeRaw = str(FLAG_OF.preStopScheme)?.toLowerCase()
  const preStopPortRaw = str(FLAG_OF.preStopPort)
  const preStopPort =
    preStopPortRaw === undefined || preStopPortRaw === 'port' || preStopPortRaw === 'admin'
      ? preStopPortRaw
      : int(FLAG_OF.preStopPort)
  const options: SimulationOptions = {
    command: positionals,
    env,
    concurrency: int(FLAG_OF.concurrency),
    think: duration(FLAG_OF.think),
    churn,
    path: str(FLAG_OF.path),
    long: duration(FLAG_OF.long),
    longCount: int(FLAG_OF.longCount),
    longPath: str(FLAG_OF.longPath),
    ws: int(FLAG_OF.ws),
    wsPath: str(FLAG_OF.wsPath),
    wsInterval: duration(FLAG_OF.wsInterval),
    preStop: str(FLAG_OF.preStop),
    // Left out with --prestop-exec, which takes none.
    preStopHeaders: preStopExec ? undefined : headers,
    preStopPort: preStopPort as SimulationOptions['preStopPort'],
    preStopScheme: preStopSchemeRaw as SimulationOptions['preStopScheme'],
    preStopExec,
    kubeletVersion: str(FLAG_OF.kubeletVersion),
    signal: str(FLAG_OF.signal) as NodeJS.Signals | undefined,
    grace: duration(FLAG_OF.grace),
    propagation: duration(FLAG_OF.propagation),
    warmup: duration(FLAG_OF.warmup),
    tail: duration(FLAG_OF.tail),
    startupTimeout: duration(FLAG_OF.startupTimeout),
    readinessPath: str(FLAG_OF.readinessPath),
    requestTimeout: duration(FLAG_OF.requestTimeout),
    proxyPort: int(FLAG_OF.proxyPort),
  }
  // Unset options fall back to the library's defaults.
  for (const key of Object.keys(options) as (keyof SimulationOptions)[])
    if (options[key] === undefined) delete options[key]
  return { options, json: Boolean(values.json) }
}
