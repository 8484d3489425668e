// A real grpc-js service for the tests: the Echo service of fixtures/echo.proto, a server on a loopback
// port, clients on their own connections, and the health service's client.
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { protoPath as healthProto } from 'grpc-health-check'

const LOAD = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }

interface Msg {
  text?: string
  n?: number
  ms?: number
}

type Package = { lameduck: { test: { Echo: grpc.ServiceClientConstructor } } }
type HealthPackage = { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } }

const echo = grpc.loadPackageDefinition(loadSync(new URL('./fixtures/echo.proto', import.meta.url).pathname, LOAD))
export const Echo = (echo as unknown as Package).lameduck.test.Echo
const health = grpc.loadPackageDefinition(loadSync(healthProto, LOAD))
const Health = (health as unknown as HealthPackage).grpc.health.v1.Health

/** The Echo service's handlers, with timers that end with the process (a never-ending stream included). */
export const echoService: grpc.UntypedServiceImplementation = {
  Unary(call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) {
    setTimeout(() => callback(null, { text: call.request.text ?? '' }), call.request.ms ?? 0).unref()
  },
  Count(call: grpc.ServerWritableStream<Msg, Msg>) {
    const { n = 0, ms = 0 } = call.request
    if (n < 0) {
      call.write({ text: 'forever', n: 0 })
      return
    }
    let sent = 0
    const next = () => {
      if (call.cancelled) return
      if (sent === n) {
        call.end()
        return
      }
      call.write({ text: 'count', n: sent++ })
      setTimeout(next, ms).unref()
    }
    next()
  },
}

export interface Running {
  server: grpc.Server
  port: number
}

const servers: grpc.Server[] = []
const clients: grpc.Client[] = []

/** A grpc-js server with the Echo service, `before` run on it before it binds, on a loopback port. */
export async function startServer(
  options: grpc.ServerOptions = {},
  before: (server: grpc.Server) => void = () => {},
): Promise<Running> {
  const server = new grpc.Server(options)
  servers.push(server)
  server.addService(Echo.service, echoService)
  before(server)
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  )
  return { server, port }
}

/** Everything the test opened, closed (for afterEach). */
export function closeAll(): void {
  for (const client of clients.splice(0)) client.close()
  for (const server of servers.splice(0)) server.forceShutdown()
}

/** Options of a client with a connection of its own (not shared through grpc-js's global subchannel pool). */
export const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 } as const

/** An Echo client on a connection of its own. */
export function echoClient(port: number, options: grpc.ChannelOptions = {}): grpc.Client {
  const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { ...OWN_CONNECTION, ...options })
  clients.push(client)
  return client
}

/** A `grpc.health.v1.Health` client on a connection of its own. */
export function healthClient(port: number, options: grpc.ChannelOptions = {}): grpc.Client {
  const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { ...OWN_CONNECTION, ...options })
  clients.push(client)
  return client
}

/** A finished call: its status code (0 is OK) and what came back. */
export interface Outcome {
  code: number
  details: string
  messages: Msg[]
}

type Method = (request: Msg, callback: (error: grpc.ServiceError | null, response?: Msg) => void) => void

/** A unary call of `method` (`Unary` of Echo, `Check` of Health). */
export function unary(client: grpc.Client, method: string, request: Record<string, unknown>): Promise<Outcome> {
  const call = (client as unknown as Record<string, Method>)[method] as Method
  return new Promise((resolve) =>
    call.call(client, request, (error, response) =>
      resolve(
        error
          ? { code: error.code, details: error.details, messages: [] }
          : { code: 0, details: '', messages: [response as Msg] },
      ),
    ),
  )
}

/** A server-streaming call of `method`, with its messages as they come and its end. */
export function stream(
  client: grpc.Client,
  method: string,
  request: Record<string, unknown>,
): { call: grpc.ClientReadableStream<Msg>; messages: Msg[]; first: Promise<void>; ended: Promise<Outcome> } {
  const call = (client as unknown as Record<string, (request: unknown) => grpc.ClientReadableStream<Msg>>)[
    method
  ]?.call(client, request) as grpc.ClientReadableStream<Msg>
  const messages: Msg[] = []
  let onFirst = () => {}
  const first = new Promise<void>((resolve) => {
    onFirst = resolve
  })
  call.on('data', (message: Msg) => {
    messages.push(message)
    onFirst()
  })
  const ended = new Promise<Outcome>((resolve) => {
    call.on('error', (error: grpc.ServiceError) => resolve({ code: error.code, details: error.details, messages }))
    call.on('status', (status: grpc.StatusObject) => {
      if (status.code === 0) resolve({ code: 0, details: status.details, messages })
    })
  })
  return { call, messages, first, ended }
}

/** The health status a Check of `service` answers, or the call's status code when it fails. */
export async function check(client: grpc.Client, service = ''): Promise<string | number> {
  const outcome = await unary(client, 'Check', { service })
  return outcome.code === 0 ? ((outcome.messages[0] as { status?: string }).status ?? '') : outcome.code
}

export { grpc }
