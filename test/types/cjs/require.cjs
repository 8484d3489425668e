// A CommonJS service's view of the packages at run time: `require()` of each package's CommonJS entry, and of
// @lameduck/core/adapter. Run with node by cjs.test.ts; prints `ok` when every check holds.
const assert = require('node:assert/strict')
const { join, sep } = require('node:path')

const adapter = require('@lameduck/core/adapter')
const core = require('@lameduck/core')
// The CommonJS build itself, not an ES module loaded through require(esm).
assert.ok(require.resolve('@lameduck/core/adapter').endsWith(join('dist', 'cjs', 'adapter', 'index.js')))
assert.ok(require.resolve('@lameduck/core').endsWith(`${sep}${join('dist', 'cjs', 'index.js')}`))
for (const name of [
  'registerTask',
  'taskOptions',
  'duration',
  'count',
  'checkOptions',
  'sleep',
  'linkSignals',
  'shared',
  'spread',
  'spreadClose',
  'hookErrorLogger',
  'checkedTaskOptions',
  'addNumbered',
  'hasMethods',
  'unknownFlag',
  'handOverSocket',
  'claimRequests',
  'requestClaim',
  'worstOutcome',
])
  assert.equal(typeof adapter[name], 'function', `@lameduck/core/adapter exports ${name}()`)

// The kit works from CommonJS: a task registered through it runs in the coordinator's report.
const shutdown = core.createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
const task = adapter.taskOptions('closeThing', {}, { name: 'thing', phase: 'close', timeoutMs: 1000, critical: true })
const registration = adapter.registerTask(shutdown, { where: 'closeThing', task, run: () => {}, resource: shutdown })
assert.equal(registration.name, 'thing')
assert.throws(() => adapter.registerTask(shutdown, { where: 'closeThing', task, run: () => {}, resource: shutdown }), {
  code: 'LAMEDUCK_ERR_DUPLICATE_REGISTRATION',
})
assert.throws(() => adapter.duration('timeoutMs', -1), { code: 'LAMEDUCK_ERR_INVALID_DURATION' })

// Health checks and start-up from CommonJS: their errors, their checks of JavaScript callers' mistakes, the
// events, and the start-up's outcome in the report.
for (const name of [
  'HealthCheckTimeoutError',
  'StartupAbortedError',
  'StartupClosedError',
  'StartupTimeoutError',
  'UnknownProbeError',
])
  assert.equal(typeof core[name], 'function', `@lameduck/core exports ${name}`)
assert.deepEqual(core.PROBES, ['readiness', 'liveness'])
const health = core.createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0 })
assert.throws(() => health.health.check('db', () => true, { affects: ['startup'] }), {
  code: 'LAMEDUCK_ERR_UNKNOWN_PROBE',
})
assert.throws(() => health.health.check('db', () => true, { timeout: 5 }), { code: 'LAMEDUCK_ERR_UNKNOWN_OPTION' })
assert.throws(() => health.startup.task('warm', () => {}, { timeoutMs: 0 }), { code: 'LAMEDUCK_ERR_INVALID_DURATION' })
const healthEvents = []
health.on('health', (event) => healthEvents.push(`${event.name} ${event.from}->${event.to}`))
const startupEvents = []
health.on('startup', (report) => startupEvents.push(report.state))
health.health.check('db', () => false, { critical: false })
health.startup.task('connect', () => new Promise(() => {}))
assert.equal(health.isReady(), false)
const healthRun = health.health
  .status('readiness')
  .then((report) => {
    assert.equal(report.status, 'degraded')
    assert.deepEqual(healthEvents, ['db ok->failing'])
    return health.shutdown('cjs start-up check')
  })
  .then((report) => {
    assert.equal(report.startup.state, 'aborted')
    assert.equal(report.startup.tasks[0].code, 'LAMEDUCK_ERR_STARTUP_ABORTED')
    // A pod stopped while starting: an orderly shutdown.
    assert.equal(report.exitCode, 0)
    assert.deepEqual(startupEvents, ['pending', 'aborted'])
    assert.throws(() => health.startup.task('late', () => {}), { code: 'LAMEDUCK_ERR_STARTUP_CLOSED' })
  })

const entries = {
  '@lameduck/http': ['drainHttpServer', 'createProbes', 'closeEventStreams'],
  '@lameduck/express': ['lameduck'],
  '@lameduck/fastify': ['lameduck'],
  '@lameduck/grpc': ['drainGrpcServer'],
  '@lameduck/nestjs': ['InjectShutdown', 'LameduckModule'],
  '@lameduck/cache': ['createWriteBehind'],
  '@lameduck/redis': ['closeRedis'],
  '@lameduck/etcd': ['createLease', 'closeEtcd'],
  '@lameduck/pg': ['closePool'],
  '@lameduck/testkit': ['simulateTermination', 'parseDuration'],
  '@lameduck/ws': ['closeWebSockets'],
  '@lameduck/socket.io': ['closeSocketIo'],
  '@lameduck/notify': ['notify', 'NotifyFailedError'],
  '@lameduck/bullmq': ['stopWorker'],
  '@lameduck/amqp': ['createConsumers', 'closeAmqp'],
  '@lameduck/nats': ['consume', 'drainNats'],
  '@lameduck/pino': ['flushPino', 'PinoFlushTimeoutError'],
  '@lameduck/otel': ['instrumentShutdown', 'OtelFlushFailedError', 'OtelNothingToFlushError'],
}
for (const [pkg, names] of Object.entries(entries)) {
  const exports = require(pkg)
  assert.ok(require.resolve(pkg).includes(join('dist', 'cjs')), `${pkg} resolves to its CommonJS build`)
  for (const name of names) assert.equal(typeof exports[name], 'function', `${pkg} exports ${name}()`)
}
// Not a dependency of the workspace root: its folder, whose "main" is the CommonJS build.
assert.equal(typeof require('../../../packages/prometheus').instrument, 'function')
assert.deepEqual(require('@lameduck/testkit').TESTKIT_WARNING_CODES, [])
assert.deepEqual(require('@lameduck/nats').NATS_WARNING_CODES, ['LAMEDUCK_WARN_NATS_INTERNALS'])
// Nest loads it through require() as well: the module definition, its options checked.
assert.equal(require('@lameduck/nestjs').LameduckModule.forRoot({ insecure: true }).global, true)
assert.throws(() => require('@lameduck/nestjs').LameduckModule.forRoot({ tokn: 'x' }), {
  code: 'LAMEDUCK_ERR_UNKNOWN_OPTION',
})

healthRun
  .then(() => shutdown.shutdown('cjs check'))
  .then((report) => {
    assert.equal(report.exitCode, 0)
    assert.deepEqual(
      report.phases.flatMap((phase) => phase.tasks.map((t) => `${t.name} ${t.outcome}`)),
      ['thing ok'],
    )
    console.log('ok')
  })
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
