import { readFileSync } from 'node:fs'
import {
  Agent,
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type RequestListener,
  request,
  type Server,
} from 'node:http'
import { type ClientHttp2Session, connect as connectH2, type IncomingHttpHeaders as Http2Headers } from 'node:http2'
import { createServer as createHttpsServer, Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import express from 'express'

export const tls = {
  key: readFileSync(new URL('./fixtures/test-only-key.pem', import.meta.url)),
  cert: readFileSync(new URL('./fixtures/test-only-cert.pem', import.meta.url)),
}

export type Kind = 'http' | 'https' | 'express'

export { closedAfterEach, listen } from '../../../test/support/servers.js'

/** A server of the given kind whose handler is `handler`; not listening yet. */
export function makeServer(kind: Kind, handler: RequestListener): Server {
  if (kind === 'https') return createHttpsServer(tls, handler)
  if (kind === 'express') {
    const app = express()
    app.use((req, res) => handler(req, res))
    return createHttpServer(app)
  }
  return createHttpServer(handler)
}

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
  socket: Socket
}

export function makeAgent(kind: Kind): Agent {
  return kind === 'https'
    ? new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false })
    : new Agent({ keepAlive: true, maxSockets: 1 })
}

/** One request; rejects with the socket error (code) when there is no response. */
export function get(
  kind: Kind,
  port: number,
  path: string,
  options: { agent?: Agent | false; method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const send = kind === 'https' ? httpsRequest : request
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined
    const req = send(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        rejectUnauthorized: false,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: socket as Socket }),
        )
        res.once('error', reject)
      },
    )
    req.once('socket', (s: Socket) => {
      socket = s
    })
    req.once('error', reject)
    req.end()
  })
}

/** Resolves when the socket has closed. */
export function closed(socket: Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()))
}

/** An HTTP/2 client session (h2c, or h2 over TLS accepting the test certificate); errors are left to requests. */
export function openH2(secure: boolean, port: number): ClientHttp2Session {
  const session = connectH2(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  return session
}

/** One HTTP/2 request on `session`; rejects with the stream error when there is no complete response. */
export function getH2(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Http2Headers; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers })
    let status = 0
    let responseHeaders: Http2Headers = {}
    let body = ''
    stream.once('response', (h) => {
      responseHeaders = h
      status = Number(h[':status'])
    })
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      body += chunk
    })
    stream.once('end', () => {
      if (status === 0) reject(new Error(`stream ended without a response (RST code ${stream.rstCode})`))
      else resolve({ status, headers: responseHeaders, body })
    })
    stream.once('error', reject)
    stream.end()
  })
}

/** A raw connection (TCP, or TLS for `https`) for writing requests by hand. */
export function rawConnect(kind: Kind, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      kind === 'https'
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(socket))
        : netConnect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** `paths` as pipelined HTTP/1.1 GET requests, in one write. */
export function pipelined(paths: string[]): string {
  return paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')
}

export interface RawResponse {
  status: number
  /** The `Connection` header, lower-cased (`undefined` when absent). */
  connection: string | undefined
  body: string
}

/** Everything the server writes on `socket` until it closes it (bounded: rejects after `ms`). */
export function readUntilClosed(socket: Socket, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms; read: ${data}`)), ms)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      data += chunk
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(data)
    })
  })
}

/**
 * Splits a stream of HTTP/1.1 responses (each with a Content-Length) into responses. An incomplete one at
 * the end is an error, or left out when `partial` (the rest has not arrived yet).
 */
export function parseResponses(data: string, partial = false): RawResponse[] {
  const responses: RawResponse[] = []
  let rest = data
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) {
      if (partial) break
      throw new Error(`incomplete response head: ${JSON.stringify(rest)}`)
    }
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n')
    const headers = new Map(
      lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    )
    const length = Number(headers.get('content-length') ?? 0)
    const body = rest.slice(end + 4, end + 4 + length)
    if (body.length < length) {
      if (partial) break
      throw new Error(`incomplete response body: ${JSON.stringify(rest)}`)
    }
    responses.push({
      status: Number(statusLine.split(' ')[1]),
      connection: headers.get('connection')?.toLowerCase(),
      body,
    })
    rest = rest.slice(end + 4 + length)
  }
  return responses
}
