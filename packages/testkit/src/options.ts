import { validateHeaderName, validateHeaderValue } from 'node:http'
import { constants } from 'node:os'
import { checkOptions, describeValue, InvalidOptionError } from '@lameduck/core'
import { SIM_DEFAULTS as D } from './defaults.js'
import { parseDuration } from './duration.js'
import type { SimulationOptions } from './simulate.js'

/** Every key of `SimulationOptions`: anything else is refused with a "did you mean". */
export const SIMULATION_OPTIONS = [
  'command',
  'env',
  'concurrency',
  'think',
  'path',
  'long',
  'longCount',
  'longPath',
  'preStop',
  'preStopHeaders',
  'preStopPort',
  'signal',
  'grace',
  'propagation',
  'warmup',
  'tail',
  'startupTimeout',
  'requestTimeout',
  'proxyPort',
  'signalAbort',
  'onProgress',
] as const satisfies readonly (keyof SimulationOptions)[]

/**
 * Callers and long requests at most: each one holds two loopback connections (client → proxy → replica), and
 * Linux has about 28,000 ephemeral ports to give them.
 */
export const MAX_CALLERS = 10_000

/** The environment variables the simulator gives each replica itself: `env` cannot set them. */
const ASSIGNED = ['PORT', 'ADMIN_PORT']

export type ResolvedOptions = ReturnType<typeof resolveOptions>

/**
 * Validates the options and fills in the defaults, before anything starts. `undefined` means the default;
 * `null` and every other wrong type is refused. Wrong durations throw `InvalidDurationError`, every other
 * wrong value `InvalidOptionError`, an unknown key `UnknownOptionError` (all from `@lameduck/core`).
 */
export function resolveOptions(options: SimulationOptions) {
  if (options === undefined) throw new InvalidOptionError('simulateTermination options', 'expected an options object')
  checkOptions('simulateTermination', options, SIMULATION_OPTIONS)
  const or = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value)

  const command = options.command
  if (
    !Array.isArray(command) ||
    command.length === 0 ||
    !command.every((part) => typeof part === 'string' && part.length > 0)
  )
    throw new InvalidOptionError(
      'command',
      `expected the service command line as an array of strings, e.g. ["node", "server.js"]; got ${describeValue(command)}`,
    )

  const signal = or(options.signal, D.signal)
  if (typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal))
    throw new InvalidOptionError('signal', `not a signal name: ${describeValue(signal)}`)
  // A name this platform does not know would never reach the service: refuse it before anything starts.
  if (!Object.hasOwn(constants.signals, signal))
    throw new InvalidOptionError('signal', `unknown signal ${signal} (expected a name like SIGTERM, SIGINT or SIGQUIT)`)

  const preStopPort = or<SimulationOptions['preStopPort']>(options.preStopPort, D.preStopPort)
  if (preStopPort !== 'port' && preStopPort !== 'admin' && !isPort(preStopPort, 1))
    throw new InvalidOptionError(
      'preStopPort',
      `expected a port number (1–65535), "port" or "admin", got ${describeValue(preStopPort)}`,
    )
  const proxyPort = or(options.proxyPort, D.proxyPort)
  if (!isPort(proxyPort, 0))
    throw new InvalidOptionError(
      'proxyPort',
      `expected a port number (0–65535, 0: any free one), got ${describeValue(proxyPort)}`,
    )

  if (options.signalAbort !== undefined && !(options.signalAbort instanceof AbortSignal))
    throw new InvalidOptionError('signalAbort', `expected an AbortSignal, got ${describeValue(options.signalAbort)}`)
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new InvalidOptionError('onProgress', `expected a function, got ${describeValue(options.onProgress)}`)

  return {
    command: command as readonly string[],
    env: env(options.env),
    concurrency: count('concurrency', or(options.concurrency, D.concurrency)),
    thinkMs: parseDuration('think', or(options.think, D.think)),
    path: path('path', or(options.path, D.path)),
    longMs: parseDuration('long', or(options.long, 0)),
    longCount: count('longCount', or(options.longCount, D.longCount)),
    longPath: path('longPath', or(options.longPath, D.longPath)),
    preStop: options.preStop === undefined ? undefined : path('preStop', options.preStop),
    preStopHeaders: headers(options.preStopHeaders),
    preStopPort: preStopPort as number | 'port' | 'admin',
    signal: signal as NodeJS.Signals,
    graceMs: parseDuration('grace', or(options.grace, D.grace)),
    propagationMs: parseDuration('propagation', or(options.propagation, D.propagation)),
    warmupMs: parseDuration('warmup', or(options.warmup, D.warmup)),
    tailMs: parseDuration('tail', or(options.tail, D.tail)),
    startupTimeoutMs: parseDuration('startupTimeout', or(options.startupTimeout, D.startupTimeout)),
    requestTimeoutMs: parseDuration('requestTimeout', or(options.requestTimeout, D.requestTimeout)),
    proxyPort,
  }
}

function isPort(value: unknown, min: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= 65_535
}

function count(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_CALLERS)
    throw new InvalidOptionError(name, `expected a whole number from 1 to ${MAX_CALLERS}, got ${describeValue(value)}`)
  return value as number
}

function path(name: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s\0]/.test(value))
    throw new InvalidOptionError(
      name,
      `expected a path starting with / and without spaces, got ${describeValue(value)}`,
    )
  return value
}

function record(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionError(name, `expected an object of strings, got ${describeValue(value)}`)
  for (const [key, item] of Object.entries(value))
    if (typeof item !== 'string')
      throw new InvalidOptionError(`${name}.${key}`, `expected a string, got ${describeValue(item)}`)
  return value as Record<string, unknown>
}

function env(value: unknown): Record<string, string> {
  const vars = record('env', value) as Record<string, string>
  for (const key of Object.keys(vars)) {
    if (key === '' || key.includes('=') || key.includes('\0'))
      throw new InvalidOptionError('env', `not an environment variable name: ${describeValue(key)}`)
    if (ASSIGNED.includes(key))
      throw new InvalidOptionError(`env.${key}`, `the simulator gives each replica its own ${key}; it cannot be set`)
  }
  return vars
}

function headers(value: unknown): Record<string, string> {
  const given = record('preStopHeaders', value) as Record<string, string>
  // Checked here, not when the hook is sent halfway through the run: Node refuses such headers at request time.
  const result: Record<string, string> = {}
  for (const [name, item] of Object.entries(given)) {
    try {
      validateHeaderName(name)
      validateHeaderValue(name, item)
    } catch (error) {
      throw new InvalidOptionError(`preStopHeaders.${name}`, (error as Error).message)
    }
    result[name.toLowerCase()] = item
  }
  return result
}
