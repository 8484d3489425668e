/**
 * Every default of the simulator's options, used by the library, the CLI and its `--help`; the README's
 * tables are checked against it by a test. An option without one here (`long`, `preStop`, `env`…) is off
 * or empty when left out.
 */
export const SIM_DEFAULTS = {
  concurrency: 64,
  think: '0ms',
  path: '/',
  longCount: 4,
  longPath: '/slow?ms={ms}',
  wsPath: '/',
  wsInterval: '100ms',
  preStopPort: 'port',
  preStopScheme: 'http',
  signal: 'SIGTERM',
  grace: '30s',
  propagation: '1s',
  warmup: '1s',
  tail: '500ms',
  startupTimeout: '10s',
  requestTimeout: '10s',
  proxyPort: 0,
  /**
   * The kubelet's `<major>.<minor>`, in the User-Agent of its preStop httpGet (`kube-lifecycle/1.31`): a
   * supported release, whose hooks honour `scheme` and `httpHeaders` and fall back from https to http.
   */
  kubeletVersion: '1.31',
} as const

/** The simulator's bounds, not options (internal: the README states them, a test checks it). */
export const SIM_LIMITS = {
  /**
   * Callers and long requests at most: each one holds two loopback connections (client → proxy → replica),
   * and Linux has about 28,000 ephemeral ports to give them.
   */
  maxCallers: 10_000,
  /**
   * The kubelet gives a container at least this long after its preStop hook before SIGKILL — between the
   * stop signal and SIGKILL, hook or not (a `--grace` under 2 s without a hook gets 2 s too).
   */
  minimumGraceAfterPreStopMs: 2000,
  /** Lines of an exec hook's stdout and of its stderr kept (`result.preStopExec.stdout`, `.stderr`). */
  hookOutputLines: 10,
  /** A replica's output lines kept (`result.lastOutput`). */
  outputLines: 40,
  /** A replica's last output lines in a `SimulatorError` (`error.output`). */
  outputLinesInErrors: 10,
} as const

/** The simulator's own timings, not options (internal). */
export const SIM_TIMINGS = {
  /** How often the load process reports its counts, and `onProgress` is called. */
  progressEveryMs: 250,
  /** How long the long requests get to reach replica A before its termination starts. */
  longRequestsHeadStartMs: 100,
  /** How often a starting replica's port is tried. */
  listenPollMs: 50,
  /** With `readinessPath`: how often a listening replica's readiness path is asked until it answers 200. */
  readinessPollMs: 100,
  /** With `readinessPath`: how long each of those requests may take (the kubelet's default `timeoutSeconds`). */
  readinessRequestTimeoutMs: 1000,
  /** With `readinessPath`: how much of the last answer's body a `LAMEDUCK_ERR_SIM_NEVER_READY` quotes. */
  readinessBodyChars: 200,
  /** How long an exec hook's output may still come after its exit (a process it left may hold its pipes). */
  hookOutputWaitMs: 200,
  /** How often the WebSocket clients' unanswered messages are checked against the request timeout. */
  wsSweepMs: 250,
  /** How long a WebSocket client waits after a failed connection attempt before the next one. */
  wsRetryMs: 100,
  /** At the end, how long the WebSocket clients' last messages get to be answered before they count as lost. */
  wsSettleMs: 1000,
  /** How long the cleanup waits for the replicas, SIGKILLed, to be gone. */
  replicasGoneWaitMs: 2000,
  /** How long the cleanup waits for the reaper to exit when told `done`, then once more after SIGKILL. */
  reaperExitWaitMs: 1000,
} as const
