// A CommonJS TypeScript project's view of the packages: `require` of each package's CommonJS entry (and of
// @lameduck/core/adapter, through its typesVersions under moduleResolution node10), and a few of the types
// it gets. cjs.test.ts checks it with tsc under both tsconfigs of this folder, against the built packages.
import core = require('@lameduck/core')
import adapter = require('@lameduck/core/adapter')
import http = require('@lameduck/http')
import express = require('@lameduck/express')
import fastify = require('@lameduck/fastify')
import grpc = require('@lameduck/grpc')
import nestjs = require('@lameduck/nestjs')
import cache = require('@lameduck/cache')
import redis = require('@lameduck/redis')
import etcd = require('@lameduck/etcd')
import pg = require('@lameduck/pg')
import prometheus = require('@lameduck/prometheus')
import testkit = require('@lameduck/testkit')
import ws = require('@lameduck/ws')
import socketio = require('@lameduck/socket.io')
import notifyPkg = require('@lameduck/notify')
import bullmq = require('@lameduck/bullmq')
import amqplameduck = require('@lameduck/amqp')
import nats = require('@lameduck/nats')
import pinoPkg = require('@lameduck/pino')
import otel = require('@lameduck/otel')

const shutdown: core.Shutdown = core.createShutdown({ exit: false, logger: false, signals: [] })
const state: core.ShutdownState = shutdown.state
const phase: core.Phase = core.DEFAULTS.phase
const coreCode: core.CoreErrorCode = core.CORE_ERROR_CODES[0]
const error: core.LameduckError = new core.InvalidOptionError('x', 'expected y')

// Health checks and start-up, their types and errors.
const checkRegistration: core.Registration = shutdown.health.check(
  'db',
  (signal: AbortSignal): core.HealthCheckResult => (signal.aborted ? false : { status: 'degraded', details: {} }),
  { timeoutMs: 500, cacheMs: 0, affects: ['readiness', 'liveness'], critical: false },
)
const checkOptions: core.HealthCheckOptions = { affects: [core.PROBES[0]] }
const checkFn: core.HealthCheckFn = async () => true
const probe: core.Probe = 'liveness'
const healthReport: Promise<core.HealthReport> = shutdown.health.status(probe)
const checkReport: core.HealthCheckReport | undefined = undefined
const healthState: core.HealthState = 'degraded'
const healthRegistry: core.HealthRegistry = shutdown.health
const offHealth: () => void = shutdown.on('health', (event: core.HealthChangeEvent) => {
  const to: core.HealthState = event.to
  const probes: core.Probe[] = event.probes
  void to
  void probes
})
const startupTask: core.Registration = shutdown.startup.task(
  'warm',
  async (signal: AbortSignal, context: core.StartupTaskContext) => {
    void signal
    const deadline: number = context.deadline
    void deadline
  },
  { timeoutMs: 1000 } satisfies core.StartupTaskOptions,
)
const startupFn: core.StartupTaskFn = () => undefined
const startupDone: Promise<core.StartupReport> = shutdown.startup.done()
const startupState: core.StartupState = shutdown.startup.state
const startupRegistry: core.StartupRegistry = shutdown.startup
const taskOutcome: core.StartupTaskOutcome = 'aborted'
const taskReport: core.StartupTaskReport | undefined = shutdown.startup.report().tasks[0]
const offStartup: () => void = shutdown.on('startup', (report: core.StartupReport) => void report.state)
const reportStartup: core.StartupReport | undefined = shutdown.report?.startup
const healthErrors: core.LameduckError[] = [
  new core.HealthCheckTimeoutError('db', 500, false),
  new core.StartupTimeoutError('warm', 1000),
  new core.StartupAbortedError('warm', 'a shutdown began'),
  new core.StartupClosedError('late', 'startup.done() was called'),
  new core.UnknownProbeError('startup', 'affects'),
]
const healthCodes: core.CoreErrorCode[] = [
  'LAMEDUCK_ERR_HEALTH_CHECK_TIMEOUT',
  'LAMEDUCK_ERR_STARTUP_TIMEOUT',
  'LAMEDUCK_ERR_STARTUP_ABORTED',
  'LAMEDUCK_ERR_STARTUP_CLOSED',
  'LAMEDUCK_ERR_UNKNOWN_PROBE',
]
const startupWarning: core.CoreWarningCode = 'LAMEDUCK_WARN_STARTUP_FAILED'
const startupPath: string | undefined = ({} as http.ProbeOptions).paths?.startup

// The kit, as a third-party adapter written in CommonJS uses it.
const task: adapter.ResolvedTaskOptions = adapter.taskOptions(
  'closeThing',
  { timeoutMs: adapter.duration('timeoutMs', 1000) },
  { name: 'thing', phase: 'close', timeoutMs: 5000, critical: true },
)
const registration: core.Registration = adapter.registerTask(shutdown, {
  where: 'closeThing',
  task,
  run: async (signal: AbortSignal, context: core.TaskContext): Promise<void> => {
    const slept: boolean = await adapter.sleep(10, { clock: context.clock, signal })
    void slept
  },
})
const linked: adapter.LinkedSignal = adapter.linkSignals([], { clock: shutdown.clock })
const duplicate: core.ConfigurationError = new adapter.DuplicateRegistrationError('closeThing', 'thing')

// The simulator's public API.
const options: testkit.SimulationOptions = { command: ['node', 'server.js'], grace: '5s' }
const result: Promise<testkit.SimulationResult> = testkit.simulateTermination(options)
const simulatorCode: testkit.TestkitErrorCode = testkit.TESTKIT_ERROR_CODES[0]
const aliased: testkit.SimulatorErrorCode = simulatorCode
const concurrency: number = testkit.SIM_DEFAULTS.concurrency

// An adapter's codes and defaults, as a CommonJS project reads them.
const grpcCode: grpc.GrpcErrorCode = grpc.GRPC_ERROR_CODES[0]
const grpcTimeout: number = grpc.GRPC_DEFAULTS.drain.timeoutMs

// Every adapter's entry function is there, and a function.
const entries: ((...args: never[]) => unknown)[] = [
  http.drainHttpServer,
  http.createProbes,
  express.lameduck,
  fastify.lameduck as never,
  grpc.drainGrpcServer,
  nestjs.LameduckModule.forRoot,
  nestjs.LameduckModule.attach,
  nestjs.InjectShutdown,
  cache.createWriteBehind,
  redis.closeRedis,
  etcd.createLease,
  etcd.closeEtcd,
  pg.closePool,
  prometheus.instrument,
  ws.closeWebSockets,
  socketio.closeSocketIo,
  notifyPkg.notify,
  http.closeEventStreams,
  bullmq.stopWorker,
  amqplameduck.createConsumers,
  amqplameduck.closeAmqp,
  nats.consume as never,
  nats.drainNats,
  pinoPkg.flushPino,
  otel.instrumentShutdown,
]
const wsCode: ws.WsErrorCode = ws.WS_ERROR_CODES[0]
const socketIoCode: socketio.SocketIoErrorCode = socketio.SOCKETIO_ERROR_CODES[0]
const notifyCode: notifyPkg.NotifyErrorCode = notifyPkg.NOTIFY_ERROR_CODES[0]
const bullmqCode: bullmq.BullmqErrorCode = bullmq.BULLMQ_ERROR_CODES[0]
const bullmqStats: bullmq.BullmqStopStats | undefined = undefined
const etcdCode: etcd.EtcdErrorCode = etcd.ETCD_ERROR_CODES[0]
const etcdTtl: number = etcd.ETCD_DEFAULTS.ttlSeconds
const amqpCode: amqplameduck.AmqpErrorCode = amqplameduck.AMQP_ERROR_CODES[0]
const amqpDrain: number = amqplameduck.AMQP_DEFAULTS.consumers.timeoutMs
const natsCode: nats.NatsErrorCode = nats.NATS_ERROR_CODES[0]
const natsStats: nats.NatsConsumeStats | undefined = undefined
const pinoCode: pinoPkg.PinoErrorCode = pinoPkg.PINO_ERROR_CODES[0]
const pinoResult: pinoPkg.PinoFlushResult | undefined = undefined
const pinoTimeout: number = pinoPkg.PINO_DEFAULTS.timeoutMs
const otelCode: otel.OtelErrorCode = otel.OTEL_ERROR_CODES[0]
const otelFlush: 'shutdown' | 'forceFlush' = otel.OTEL_DEFAULTS.flush

export = {
  checkRegistration,
  checkOptions,
  checkFn,
  healthReport,
  checkReport,
  healthState,
  healthRegistry,
  offHealth,
  startupTask,
  startupFn,
  startupDone,
  startupState,
  startupRegistry,
  taskOutcome,
  taskReport,
  offStartup,
  reportStartup,
  healthErrors,
  healthCodes,
  startupWarning,
  startupPath,
  state,
  phase,
  coreCode,
  error,
  registration,
  linked,
  duplicate,
  result,
  aliased,
  concurrency,
  grpcCode,
  grpcTimeout,
  entries,
  wsCode,
  socketIoCode,
  notifyCode,
  bullmqCode,
  bullmqStats,
  etcdCode,
  etcdTtl,
  amqpCode,
  amqpDrain,
  natsCode,
  natsStats,
  pinoCode,
  pinoResult,
  pinoTimeout,
  otelCode,
  otelFlush,
}
