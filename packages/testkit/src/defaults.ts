/** Every default of the simulator, used by the library, the CLI and its `--help`. */
export const SIM_DEFAULTS = {
  concurrency: 64,
  think: '0ms',
  path: '/',
  longCount: 4,
  longPath: '/slow?ms={ms}',
  preStopPort: 'port',
  signal: 'SIGTERM',
  grace: '30s',
  propagation: '1s',
  warmup: '1s',
  tail: '500ms',
  startupTimeout: '10s',
  requestTimeout: '10s',
  proxyPort: 0,
} as const
