import { setTimeout as delay } from 'node:timers/promises'
import { MAX_TIMER_MS } from '@lameduck/core/adapter'
import { SIM_TIMINGS } from './defaults.js'
import { terminate } from './kubelet.js'
import { record, send } from './load.js'
import { type ResolvedOptions, resolveOptions, type SimulationOptions } from './options.js'
import { podEnvironment, podNames } from './pod-env.js'
import { freePorts } from './ports.js'
import { Replica } from './replica.js'
import { type LongRequests, type Readiness, type SimulationResult, simulationResult } from './result.js'
import { SimulationRun } from './run.js'

/**
 * Runs two replicas of a service behind a kube-proxy-like proxy under keep-alive load, terminates
 * replica A as the kubelet would, and reports every failed request. Rejects with a `SimulatorError`
 * when the service cannot be run; never leaves a child process behind.
 */
export async function simulateTermination(options: SimulationOptions): Promise<SimulationResult> {
  const config = resolveOptions(options)
  const run = await SimulationRun.open(config.proxyPort, options.signalAbort)
  try {
    await run.guard(run.load.listening)
    const {
      replicas: [a, b],
      readiness,
    } = await startReplicas(run, config)
    if (options.onProgress) run.reportProgress(options.onProgress)

    // Warm-up: load on both replicas, then the long requests on A.
    startLoad(run, config)
    await run.guard(delay(config.warmupMs), [a, b])
    const long = await sendLongRequests(run, config, a, b)

    run.stage = 'terminating'
    const termination = await terminateReplica(run, config, a, b)

    // The tail: load on B alone, until every request has settled.
    run.stage = 'tail'
    await run.guard(delay(config.tailMs), [b])
    const load = await run.guard(run.load.stop(), [b])
    await run.guard(long.settled, [b])

    return simulationResult({ config, a, load, long: long.counts, termination, started: run.started, readiness })
  } finally {
    await run.close()
  }
}

/**
 * Starts replicas A and B, waits until both listen — and, with `readinessPath`, until both are ready — and
 * makes them the proxy's endpoints.
 */
async function startReplicas(
  run: SimulationRun,
  config: ResolvedOptions,
): Promise<{ replicas: [Replica, Replica]; readiness: Readiness | null }> {
  const [portA, portB, adminA, adminB] = (await freePorts(4)) as [number, number, number, number]
  let readiness: Readiness | null = null
  const started = performance.now()
  const [command, ...args] = config.command as [string, ...string[]]
  // On top of the simulator's environment (the image's), what Kubernetes sets in every container — and
  // nothing it does not: no TERMINATION_GRACE_PERIOD_SECONDS unless `env` (the pod spec) says so.
  const [podA, podB] = podNames()
  const pod = (name: string) => ({ ...podEnvironment(name), ...config.env })
  const a = run.add(new Replica('A', portA, adminA, command, args, pod(podA)))
  const b = run.add(new Replica('B', portB, adminB, command, args, pod(podB)))

  const commandLine = config.command.join(' ')
  const listening = [a, b].flatMap((replica) => [
    replica.waitListening(replica.port, config.startupTimeoutMs, 'PORT', commandLine),
    ...(config.preStopPort === 'admin'
      ? [replica.waitListening(replica.adminPort, config.startupTimeoutMs, 'ADMIN_PORT', commandLine)]
      : []),
  ])
  await run.guard(Promise.all(listening))
  // With a readinessProbe, as the endpoints controller does: a replica gets traffic once its probe succeeds,
  // within what is left of the start-up timeout.
  if (config.readinessPath !== undefined) {
    const path = config.readinessPath
    const deadline = started + config.startupTimeoutMs
    const [readyA, readyB] = await run.guard(
      Promise.all([
        a.waitReady(path, deadline, config.startupTimeoutMs),
        b.waitReady(path, deadline, config.startupTimeoutMs),
      ]),
      [a, b],
    )
    readiness = { path, readyAfterMs: { A: Math.round(readyA - started), B: Math.round(readyB - started) } }
  }
  run.load.addEndpoint('A', portA)
  run.load.addEndpoint('B', portB)
  return { replicas: [a, b], readiness }
}

function startLoad(run: SimulationRun, config: ResolvedOptions): void {
  run.load.start(
    {
      path: config.path,
      concurrency: config.concurrency,
      thinkMs: config.thinkMs,
      requestTimeoutMs: config.requestTimeoutMs,
      churn: config.churn ?? 0,
    },
    config.ws === 0
      ? null
      : {
          clients: config.ws,
          path: config.wsPath,
          intervalMs: config.wsIntervalMs,
          requestTimeoutMs: config.requestTimeoutMs,
        },
  )
}

/**
 * Sends the long requests, if any, straight to A — pinned there, like connections kube-proxy routed to it
 * earlier — and gives them a head start, so that they are in flight when the termination starts.
 */
async function sendLongRequests(
  run: SimulationRun,
  config: ResolvedOptions,
  a: Replica,
  b: Replica,
): Promise<{ counts: LongRequests; settled: Promise<unknown> }> {
  const counts: LongRequests = { total: 0, ok: 0, failed: 0, failures: {}, connections: 0, durationMs: config.longMs }
  const onSocket = () => {
    counts.connections++
  }
  const sent: Promise<void>[] = []
  if (config.longMs > 0) {
    const path = config.longPath.replaceAll('{ms}', String(config.longMs))
    const requestTimeoutMs = Math.min(config.longMs + config.requestTimeoutMs, MAX_TIMER_MS)
    for (let i = 0; i < config.longCount; i++)
      sent.push(send(false, a.port, path, { requestTimeoutMs, onSocket }).then((outcome) => record(counts, outcome)))
    await run.guard(delay(SIM_TIMINGS.longRequestsHeadStartMs), [a, b])
  }
  return { counts, settled: Promise.all(sent) }
}

/**
 * Terminates A as the kubelet does (kubelet.ts) while the endpoint removal propagates: A leaves the proxy's
 * choice `propagation` after the termination start, whatever the kubelet is doing then.
 */
async function terminateReplica(run: SimulationRun, config: ResolvedOptions, a: Replica, b: Replica) {
  const start = performance.now()
  const propagated = delay(config.propagationMs).then(() => run.load.removeEndpoint('A'))
  const preStopPort =
    config.preStopPort === 'port' ? a.port : config.preStopPort === 'admin' ? a.adminPort : config.preStopPort
  const termination = await run.guard(
    terminate(a, {
      graceMs: config.graceMs,
      signal: config.signal,
      startedAt: start,
      preStop:
        config.preStop === undefined
          ? undefined
          : {
              port: preStopPort,
              path: config.preStop,
              headers: config.preStopHeaders,
              scheme: config.preStopScheme,
              kubeletVersion: config.kubeletVersion,
            },
      // In the container: the environment replica A was started with, and its working directory.
      preStopExec:
        config.preStopExec === undefined
          ? undefined
          : { command: config.preStopExec, env: { ...process.env, ...a.environment }, cwd: process.cwd() },
      onHook: (hook) => run.addHook(hook),
    }),
    [b],
  )
  await run.guard(propagated, [b])
  return { ...termination, start }
}
