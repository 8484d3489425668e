import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import type { Registration, Shutdown, TaskContext } from '@lameduck/core'
import {
  type AdapterTaskOptions,
  checkOptions,
  count,
  describeValue,
  duration,
  errorMessage,
  InvalidOptionError,
  linkSignals,
  oneOf,
  optionalObject,
  orDefault,
  registerTask,
  requireShutdown,
  sleep,
  string,
  TASK_OPTION_KEYS,
  taskOptions,
} from '@lameduck/core/adapter'
import { NOTIFY_DEFAULTS } from './defaults.js'
import { NotifyFailedError, type NotifyResult } from './errors.js'

const WHERE = 'notify'

/** What a `body` function is given. */
export interface NotifyInfo {
  /** The idempotency key sent with the request (`undefined` with `idempotencyKey: false`). */
  idempotencyKey: string | undefined
  /** This instance: the pod's name (`POD_NAME`, else `HOSTNAME`, else the host name). */
  instance: string
}

/** A request body: a string as it is, anything else as JSON (`content-type: application/json`). */
export type NotifyBody = string | Record<string, unknown> | unknown[]

/** The options of {@link notify}. */
export interface NotifyOptions extends AdapterTaskOptions {
  /** The endpoint: an `http:` or `https:` URL. Required. */
  url: string | URL
  /** Default: {@link NOTIFY_DEFAULTS}`.method`. */
  method?: 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET'
  /** Request headers (an `Authorization` header, …). */
  headers?: Record<string, string>
  /** The body, or a function of {@link NotifyInfo} returning it. Default: `{ event: 'shutdown', instance, idempotencyKey }`; none for GET. */
  body?: NotifyBody | ((info: NotifyInfo) => NotifyBody)
  /**
   * The `Idempotency-Key` sent with every attempt: the endpoint can recognise a retry, and a second trigger
   * (the kubelet may run a preStop hook again) joins the same run, hence the same key. Default: derived
   * from this process (the pod, the process's start, the task's name and the URL) — the same for every
   * attempt of this shutdown, another for the next incarnation of the container. `false`: no header.
   */
  idempotencyKey?: string | false
  /** The header the key is sent in. Default: {@link NOTIFY_DEFAULTS}`.idempotencyHeader`. */
  idempotencyHeader?: string
  /** Attempts in all (the first included). Default: {@link NOTIFY_DEFAULTS}`.attempts`. */
  attempts?: number
  /** The wait before the first retry, doubled each time, with full jitter. Default: {@link NOTIFY_DEFAULTS}`.retryDelayMs`. */
  retryDelayMs?: number
  /** One attempt's budget, cut to what is left of the task's. Default: {@link NOTIFY_DEFAULTS}`.attemptTimeoutMs`. */
  attemptTimeoutMs?: number
  /** Where `POD_NAME` / `HOSTNAME` are read. Default: `process.env`. */
  env?: Record<string, string | undefined>
}

/** Every key of {@link NotifyOptions}, for JavaScript callers' typos. */
export const NOTIFY_OPTIONS = [
  ...TASK_OPTION_KEYS,
  'url',
  'method',
  'headers',
  'body',
  'idempotencyKey',
  'idempotencyHeader',
  'attempts',
  'retryDelayMs',
  'attemptTimeoutMs',
  'env',
] as const

/** What {@link notify} returns: its registration, and the result once the task has run. */
export interface Notification extends Registration {
  readonly result: NotifyResult | undefined
}

const METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET'] as const

/**
 * Registers a task (`release` phase by default) that tells an external endpoint this instance is leaving:
 * a load balancer's or a registry's deregistration, a webhook. Retries on a transport error, an attempt's
 * timeout, 5xx, 429 and 408, with exponential backoff and full jitter (a `Retry-After` that fits the budget
 * is honoured); any other 4xx fails at once. Every attempt carries the same idempotency key. The result —
 * status, attempts, the start of the response — is the task's `details` in the report, and `result` here;
 * a failure is `NotifyFailedError` (`LAMEDUCK_ERR_NOTIFY_FAILED`). Every option is checked now.
 */
export function notify(shutdown: Shutdown, options: NotifyOptions): Notification {
  requireShutdown(WHERE, shutdown, 'notify(shutdown, { url, … })')
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidOptionError(
      `options of ${WHERE}`,
      `expected { url, … }; got ${describeValue(options)} — notify(shutdown, { url })`,
    )
  checkOptions(WHERE, options, NOTIFY_OPTIONS)
  const task = taskOptions(WHERE, options, NOTIFY_DEFAULTS.task)
  const url = endpoint(options.url)
  const method = oneOf(`method of ${WHERE}`, options.method, METHODS, NOTIFY_DEFAULTS.method)
  const headers = headersOf(options.headers)
  const body = options.body
  if (
    body !== undefined &&
    typeof body !== 'function' &&
    (body === null || (typeof body !== 'string' && typeof body !== 'object'))
  )
    throw new InvalidOptionError(
      `body of ${WHERE}`,
      `expected a string, an object or array (sent as JSON), or a function returning one; got ${describeValue(body)}`,
    )
  if (body !== undefined && method === 'GET')
    throw new InvalidOptionError(`body of ${WHERE}`, 'a GET request has no body: leave body out, or use POST')
  const given = options.idempotencyKey
  if (given !== undefined && given !== false && (typeof given !== 'string' || !/^[\x21-\x7e]+$/.test(given)))
    throw new InvalidOptionError(
      `idempotencyKey of ${WHERE}`,
      `expected a non-empty string of visible ASCII characters, or false; got ${describeValue(given)}`,
    )
  const idempotencyHeader = string(
    `idempotencyHeader of ${WHERE}`,
    options.idempotencyHeader,
    NOTIFY_DEFAULTS.idempotencyHeader,
  )
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(idempotencyHeader))
    throw new InvalidOptionError(
      `idempotencyHeader of ${WHERE}`,
      `expected an HTTP header name; got ${describeValue(idempotencyHeader)}`,
    )
  const attempts = count(`attempts of ${WHERE}`, options.attempts, NOTIFY_DEFAULTS.attempts, { min: 1 })
  const retryDelayMs = duration(`retryDelayMs of ${WHERE}`, options.retryDelayMs, NOTIFY_DEFAULTS.retryDelayMs)
  const attemptTimeoutMs = duration(
    `attemptTimeoutMs of ${WHERE}`,
    options.attemptTimeoutMs,
    NOTIFY_DEFAULTS.attemptTimeoutMs,
    { positive: true },
  )
  const env = orDefault(optionalObject(`env of ${WHERE}`, options.env), process.env)
  const instance = env.POD_NAME || env.HOSTNAME || hostname()

  let result: NotifyResult | undefined
  const registration = registerTask(shutdown, {
    where: WHERE,
    task,
    run: async (signal, context) => {
      // Derived at the run, from the name the task got (numbered when a second notify took the default).
      const idempotencyKey = given === false ? undefined : (given ?? derivedKey(instance, registration.name, url.href))
      const payload = typeof body === 'function' ? body({ idempotencyKey, instance }) : body
      const request = {
        method,
        headers: { ...headers },
        body: method === 'GET' ? undefined : encode(payload ?? { event: 'shutdown', instance, idempotencyKey }),
      }
      if (request.body !== undefined && !hasHeader(request.headers, 'content-type'))
        request.headers['content-type'] = typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/json'
      if (idempotencyKey !== undefined) request.headers[idempotencyHeader] = idempotencyKey
      result = { ok: false, url: url.href, attempts: [], idempotencyKey, durationMs: 0 }
      await send(url, request, { attempts, retryDelayMs, attemptTimeoutMs }, result, signal, context)
    },
  })
  return Object.defineProperties(registration, {
    result: { get: () => result, enumerable: true },
  }) as Notification
}

interface Policy {
  attempts: number
  retryDelayMs: number
  attemptTimeoutMs: number
}

async function send(
  url: URL,
  request: { method: string; headers: Record<string, string>; body: string | undefined },
  policy: Policy,
  result: NotifyResult,
  signal: AbortSignal,
  context: TaskContext,
): Promise<void> {
  const { clock } = context
  const started = clock.now()
  const { attempts } = result
  const record = () => {
    result.durationMs = Math.round(clock.now() - started)
    context.detail({ ...result, attempts: attempts.map((a) => ({ ...a })) })
  }
  let why = 'no attempt could start within the budget'
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    const stopAt = context.stopAt()
    if (clock.now() >= stopAt || signal.aborted) break
    const at = clock.now()
    const linked = linkSignals([signal], { until: Math.min(stopAt, at + policy.attemptTimeoutMs), clock })
    let retryAfterMs: number | undefined
    try {
      const response = await fetch(url, { ...request, signal: linked.signal, redirect: 'follow' })
      const text = await readStart(response)
      result.status = response.status
      result.response = text
      attempts.push({ status: response.status, durationMs: Math.round(clock.now() - at) })
      if (response.ok) {
        result.ok = true
        record()
        return
      }
      if (!retried(response.status)) {
        why = `it answered ${response.status}, which is not retried`
        record()
        throw new NotifyFailedError(result, why)
      }
      why = `the last of ${attempts.length} attempt(s) answered ${response.status}`
      retryAfterMs = retryAfter(response.headers.get('retry-after'))
    } catch (error) {
      if (error instanceof NotifyFailedError) throw error
      const timedOut = linked.signal.aborted && !signal.aborted
      const message = timedOut ? "no response within the attempt's time" : transportError(error)
      attempts.push({ error: message, durationMs: Math.round(clock.now() - at) })
      why = `the last of ${attempts.length} attempt(s) failed: ${message}`
    } finally {
      linked.dispose()
    }
    record()
    if (attempt === policy.attempts) break
    // Full jitter: a random wait up to the exponential backoff, so that replicas leaving together do not
    // retry together; a Retry-After the endpoint asked for, when the budget has room for it.
    const backoff = Math.random() * policy.retryDelayMs * 2 ** (attempt - 1)
    const wait = retryAfterMs ?? backoff
    if (clock.now() + wait >= context.stopAt()) {
      why +=
        retryAfterMs !== undefined ? `; it asked to retry after ${Math.round(retryAfterMs)} ms, past the budget` : ''
      break
    }
    if (!(await sleep(wait, { clock, signal }))) break
  }
  if (attempts.length < policy.attempts && attempts.length > 0) why += ' (the budget ran out before the next attempt)'
  record()
  throw new NotifyFailedError(result, why)
}

/** 5xx, 429 Too Many Requests and 408 Request Timeout are worth another attempt; any other status is an answer. */
function retried(status: number): boolean {
  return status >= 500 || status === 429 || status === 408
}

/** `Retry-After` in ms from now (seconds, or an HTTP date), when given and sane. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  // An HTTP date is wall-clock time: compared with the wall clock, whatever the coordinator's clock is.
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

async function readStart(response: Response): Promise<string> {
  const text = await response.text()
  const bytes = Buffer.from(text)
  return bytes.length <= NOTIFY_DEFAULTS.responseBytes
    ? text
    : `${bytes.subarray(0, NOTIFY_DEFAULTS.responseBytes).toString('utf8')}…`
}

function transportError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause
  return cause?.code ?? cause?.message ?? errorMessage(error)
}

function derivedKey(instance: string, task: string, href: string): string {
  const hash = createHash('sha256')
  hash.update(`${instance}\n${performance.timeOrigin}\n${process.pid}\n${task}\n${href}`)
  return `lameduck-${hash.digest('hex').slice(0, 32)}`
}

function encode(payload: NotifyBody): string {
  return typeof payload === 'string' ? payload : JSON.stringify(payload)
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name)
}

function endpoint(value: unknown): URL {
  if (value === undefined)
    throw new InvalidOptionError(`url of ${WHERE}`, 'required: the endpoint to tell, e.g. notify(shutdown, { url })')
  let url: URL
  try {
    if (typeof value !== 'string' && !(value instanceof URL)) throw new TypeError()
    url = new URL(String(value))
  } catch {
    throw new InvalidOptionError(`url of ${WHERE}`, `expected an http: or https: URL; got ${describeValue(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidOptionError(`url of ${WHERE}`, `expected an http: or https: URL; got ${describeValue(url.href)}`)
  return url
}

function headersOf(value: unknown): Record<string, string> {
  const headers = optionalObject(`headers of ${WHERE}`, value as Record<string, unknown> | undefined) ?? {}
  const out: Record<string, string> = {}
  for (const [key, v] of Object.entries(headers)) {
    if (typeof v !== 'string')
      throw new InvalidOptionError(`headers.${key} of ${WHERE}`, `expected a string; got ${describeValue(v)}`)
    out[key] = v
  }
  return out
}
