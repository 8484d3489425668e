import { type IncomingMessage, request } from 'node:http'
import { connect as connectTcp, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { connect as connectTls } from 'node:tls'

export interface HttpGetOptions {
  port: number
  path: string
  /** The hook's `httpHeaders`, names in lower case. */
  headers: Record<string, string>
  scheme: 'http' | 'https'
  /** `<major>.<minor>`, for the User-Agent. */
  kubeletVersion: string
}

export interface PreStopResult {
  path: string
  /** The port the hook was sent to. */
  port: number
  /** The hook's scheme. */
  scheme: 'http' | 'https'
  /** HTTP status, or null when the request failed or was still running when the kubelet stopped waiting. */
  status: number | null
  durationMs: number
  /** Transport error (the only thing the kubelet treats as a failed hook), or `timeout`. */
  error: string | null
  /**
   * Response body, first 1 MiB: what lameduck's `/shutdown` sends (its report). The kubelet reads it (up to
   * 10 KiB) and throws it away; the simulator keeps it for you.
   */
  body: string
  /**
   * The `https` hook was answered in plain HTTP, so it was sent again over `http` **without** its
   * `Authorization` header, as the kubelet does (its `LifecycleHTTPFallback` warning event). `status`,
   * `body` and `error` are those of the second request.
   */
  httpFallback: boolean
}

/** Go's net/http says this when the first 5 bytes of a TLS server's answer are `HTTP/`: the kubelet's cue. */
const PLAIN_HTTP_ANSWER = 'HTTP/'

/**
 * The preStop httpGet as the kubelet sends it (pkg/kubelet/lifecycle/handlers.go): `User-Agent:
 * kube-lifecycle/<major>.<minor>` and `Accept: *\/*` unless the hook sets them, no timeout of its own (the
 * kubelet stops waiting at the end of the grace period, the request is left alone), the status never
 * checked, the body read and thrown away. `https` is not verified; when the port answers a TLS handshake in
 * plain HTTP, the request is sent again over http with the same headers but `Authorization`, and that
 * answer is the hook's.
 */
export async function httpGet(options: HttpGetOptions, limitMs: number): Promise<PreStopResult> {
  const started = performance.now()
  const headers = kubeletHeaders(options)
  const first = await attempt(options.scheme, options, headers, limitMs)
  let last = first
  if (first.plainHttpAnswer) {
    const { authorization: _dropped, ...rest } = headers
    last = await attempt('http', options, rest, Math.max(0, limitMs - (performance.now() - started)))
  }
  return {
    path: options.path,
    port: options.port,
    scheme: options.scheme,
    status: last.status,
    durationMs: Math.round(performance.now() - started),
    error: last.error,
    body: last.body,
    httpFallback: first.plainHttpAnswer,
  }
}

function kubeletHeaders(options: HttpGetOptions): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers }
  headers['user-agent'] ??= `kube-lifecycle/${options.kubeletVersion}`
  // As Go's probe request: no Accept → */*; an empty one is removed.
  if (headers.accept === undefined) headers.accept = '*/*'
  else if (headers.accept === '') delete headers.accept
  return headers
}

export interface Attempt {
  status: number | null
  error: string | null
  body: string
  /** A TLS handshake answered with `HTTP/…`: the kubelet's fallback to http. */
  plainHttpAnswer: boolean
}

/**
 * One GET on loopback: its status and body (the first 1 MiB), or the transport error, or `timeout` after
 * `limitMs`. `abandon` (the preStop hook's way): at the time limit the request is left alone, as the kubelet
 * leaves it; otherwise it is destroyed, as a probe's client does at its `timeoutSeconds`.
 */
export function attempt(
  scheme: 'http' | 'https',
  options: Pick<HttpGetOptions, 'port' | 'path'>,
  headers: Record<string, string>,
  limitMs: number,
  { abandon = true }: { abandon?: boolean } = {},
): Promise<Attempt> {
  return new Promise((resolve) => {
    let done = false
    let body = ''
    let peek: Peek | undefined
    const finish = (status: number | null, error: string | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      const plainHttpAnswer = status === null && peek?.firstBytes() === PLAIN_HTTP_ANSWER
      resolve({ status, error, body, plainHttpAnswer })
    }
    const onResponse = (res: IncomingMessage) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (body.length < 1 << 20) body += chunk
      })
      res.once('end', () => finish(res.statusCode ?? null, null))
      res.once('error', (error: NodeJS.ErrnoException) => finish(res.statusCode ?? null, error.code ?? error.message))
    }
    const target = { host: '127.0.0.1', port: options.port, path: options.path, method: 'GET', headers }
    const req =
      scheme === 'http'
        ? request({ ...target, agent: false }, onResponse)
        : request(
            {
              ...target,
              createConnection: () => {
                peek = new Peek(connectTcp({ host: '127.0.0.1', port: options.port }))
                // Not verified, as by the kubelet.
                return connectTls({ socket: peek, rejectUnauthorized: false })
              },
            },
            onResponse,
          )
    req.once('error', (error: NodeJS.ErrnoException) => finish(null, error.code ?? error.message))
    req.end()
    // The kubelet stops waiting at the end of the grace period; the request itself is left alone.
    const timer = setTimeout(() => {
      finish(null, 'timeout')
      if (!abandon) req.destroy()
    }, limitMs)
  })
}

/**
 * A TCP socket as a stream for TLS to run over, which keeps the first bytes the server sent: TLS itself
 * only says that they were not a TLS record, Go's client (the kubelet's) looks at what they were.
 */
class Peek extends Duplex {
  #first = Buffer.alloc(0)

  constructor(readonly raw: Socket) {
    super()
    raw.on('data', (chunk: Buffer) => {
      if (this.#first.length < PLAIN_HTTP_ANSWER.length) this.#first = Buffer.concat([this.#first, chunk])
      if (!this.push(chunk)) raw.pause()
    })
    raw.once('end', () => this.push(null))
    raw.once('error', (error) => this.destroy(error))
  }

  firstBytes(): string {
    return this.#first.subarray(0, PLAIN_HTTP_ANSWER.length).toString('latin1')
  }

  override _read(): void {
    this.raw.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.raw.write(chunk, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.raw.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.raw.destroy()
    callback(error)
  }
}
