import { readFileSync } from 'node:fs'
import { MAX_TIMER_MS } from '@lameduck/core'
import { SIM_DEFAULTS, type SimulationOptions, SimulatorError, simulateTermination } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'
import { SIM_LIMITS, SIM_TIMINGS } from '../src/defaults.js'
import { SIMULATION_OPTIONS } from '../src/options.js'

// Every mistake is refused before anything starts (no replica, no port), with core's error for it, as every
// package gives it: an unknown key UNKNOWN_OPTION (with "did you mean"), a wrong duration INVALID_DURATION, a
// stop signal the platform does not know UNKNOWN_SIGNAL, anything else INVALID_OPTION.
// The messages name what was passed. `command` points at nothing: nothing may get as far as running it.
const command = ['definitely-not-run-lameduck']
const refused = async (options: unknown) => {
  const started = performance.now()
  const error = await simulateTermination(options as SimulationOptions).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, JSON.stringify(options)).toBeInstanceOf(Error)
  expect(error).not.toBeInstanceOf(SimulatorError)
  expect(performance.now() - started).toBeLessThan(1000)
  return error as Error & { code: string }
}

describe('SimulationOptions are checked before anything starts', () => {
  it('an unknown key is refused, with the option meant', async () => {
    for (const [key, meant] of [
      ['graceMs', 'grace'],
      ['prestop', 'preStop'],
      ['preStopHeader', 'preStopHeaders'],
      ['startupTimeoutMs', 'startupTimeout'],
      ['readiness', 'readinessPath'],
    ] as const) {
      const error = await refused({ command, [key]: 1 })
      expect(error.code).toBe('LAMEDUCK_ERR_UNKNOWN_OPTION')
      expect(error.message).toContain(`unknown option "${key}" — did you mean "${meant}"?`)
    }
    expect((await refused({ command, banana: 1 })).message).toMatch(
      /^simulateTermination: unknown option "banana" \(known: command, env/,
    )
  })

  it('null is refused like any other wrong type, naming it', async () => {
    expect(await refused(null)).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_OPTION' })
    for (const key of [
      'command',
      'env',
      'concurrency',
      'path',
      'longCount',
      'preStop',
      'preStopHeaders',
      'preStopPort',
      'preStopScheme',
      'preStopExec',
      'kubeletVersion',
      'readinessPath',
      'churn',
      'ws',
      'wsPath',
      'signal',
      'proxyPort',
      'signalAbort',
      'onProgress',
    ]) {
      const error = await refused({ command, [key]: null })
      expect(error.code, key).toBe('LAMEDUCK_ERR_INVALID_OPTION')
      expect(error.message, key).toMatch(/null/)
    }
    for (const key of [
      'think',
      'wsInterval',
      'long',
      'grace',
      'propagation',
      'warmup',
      'tail',
      'startupTimeout',
      'requestTimeout',
    ]) {
      const error = await refused({ command, [key]: null })
      expect(error.code, key).toBe('LAMEDUCK_ERR_INVALID_DURATION')
      expect(error.message, key).toMatch(new RegExp(`^${key} must be .*; got null$`))
    }
  })

  it('durations are bounded by what Node timers hold, as numbers and as strings', async () => {
    const over = await refused({ command, grace: MAX_TIMER_MS + 1 })
    expect(over).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_DURATION' })
    expect(over.message).toBe(
      `grace must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest delay Node's timers can hold); got 2147483648`,
    )
    // 36,000 minutes is 2,160,000,000 ms: the message names what was written.
    const minutes = await refused({ command, warmup: '36000m' })
    expect(minutes.message).toMatch(/^warmup must be at most 2147483647 ms .*; got "36000m"$/)
    for (const [key, value] of [
      ['think', Number.POSITIVE_INFINITY],
      ['tail', -1],
      ['propagation', Number.NaN],
      ['requestTimeout', '5 parsecs'],
      ['long', true],
    ] as const)
      expect(await refused({ command, [key]: value }), key).toMatchObject({ code: 'LAMEDUCK_ERR_INVALID_DURATION' })
  })

  it('wrong values of every other option', async () => {
    for (const bad of [
      { command: [] },
      { command: ['node', 3] },
      { command: 'node server.js' },
      { concurrency: 0 },
      { concurrency: 10_001 },
      { longCount: 1.5 },
      { path: 'no-slash' },
      { longPath: '/with space' },
      { proxyPort: 70_000 },
      { preStopPort: 0 },
      { preStopPort: 'metrics' },
      { env: { PORT: '8080' } },
      { env: { DEBUG: 1 } },
      { env: ['A=1'] },
      { preStopHeaders: { authorization: 'Bearer x\r\nX-Injected: 1' } },
      { preStopHeaders: { 'bad header': 'x' } },
      { signalAbort: {} },
      { onProgress: 'log' },
      { churn: 0 },
      { churn: 2.5 },
      { churn: '20' },
      { preStopScheme: 'HTTPS' },
      { preStopScheme: 'ftp' },
      { preStopExec: [] },
      { preStopExec: 'node prestop.mjs' },
      { preStopExec: ['node', 1] },
      { preStopExec: [''] },
      { kubeletVersion: 'v1.31' },
      { kubeletVersion: '1.31.2' },
      { kubeletVersion: 1.31 },
      { ws: 0 },
      { ws: 10_001 },
      { ws: '100' },
      { wsPath: 'ws' },
    ]) {
      const error = await refused({ command, ...bad })
      expect(error.code, JSON.stringify(bad)).toBe('LAMEDUCK_ERR_INVALID_OPTION')
    }
    expect((await refused({ command, env: { PORT: '8080' } })).message).toBe(
      'env.PORT: the simulator gives each replica its own PORT; it cannot be set',
    )
    expect((await refused({ command, concurrency: '64' })).message).toBe(
      'concurrency: expected an integer from 1 to 10000; got "64"',
    )
  })

  it('a WebSocket client sending every 0 ms would be a busy loop: wsInterval must be above 0', async () => {
    for (const wsInterval of [0, '0ms', '0s'])
      expect(await refused({ command, ws: 10, wsInterval })).toMatchObject({
        code: 'LAMEDUCK_ERR_INVALID_DURATION',
        message: expect.stringContaining('wsInterval must be greater than 0 ms'),
      })
  })

  it('a container has one preStop handler: exec or httpGet, not both', async () => {
    for (const httpGet of [
      { preStop: '/shutdown' },
      { preStopHeaders: { authorization: 'Bearer x' } },
      { preStopScheme: 'https' },
    ]) {
      const error = await refused({ command, preStopExec: ['node', 'prestop.mjs'], ...httpGet })
      expect(error.code, JSON.stringify(httpGet)).toBe('LAMEDUCK_ERR_INVALID_OPTION')
      expect(error.message).toMatch(/a container has one preStop handler, exec \(preStopExec\) or httpGet/)
    }
    // No headers is no httpGet setting: the CLI passes {} when none is given.
    const fine = await refused({ command, preStopExec: ['node', 'prestop.mjs'], preStopHeaders: {}, churn: 0 })
    expect(fine.message).toMatch(/^churn:/)
  })

  it('a stop signal the platform does not know: the code core gives it in `signals`', async () => {
    for (const signal of ['SIGFOO', 'TERM', 'sigterm']) {
      const error = await refused({ command, signal })
      expect(error, signal).toMatchObject({ code: 'LAMEDUCK_ERR_UNKNOWN_SIGNAL', name: 'UnknownSignalError', signal })
      expect(error.message).toContain('as the stop signal it would never reach the service')
    }
  })
})

describe('the README agrees with SIM_DEFAULTS and SIM_LIMITS', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  /** The rows of the table that starts at `header`, by their first cell (in backticks), as their other cells. */
  const table = (header: string) => {
    const section = readme.slice(readme.indexOf(header))
    const lines = section.slice(0, section.indexOf('\n\n')).split('\n').slice(2)
    return new Map(
      lines.map((line) => {
        const [first, ...cells] = line
          .split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((cell) => cell.trim())
        return [(first ?? '').replace(/^`(.*)`$/, '$1'), cells] as const
      }),
    )
  }

  it("the library's options table gives every option, with the defaults the code uses", () => {
    const rows = table('| option           | type')
    expect([...rows.keys()]).toEqual([...SIMULATION_OPTIONS])
    for (const [key, value] of Object.entries(SIM_DEFAULTS))
      expect(rows.get(key)?.[1], key).toBe(typeof value === 'number' ? `\`${value}\`` : `\`'${value}'\``)
  })

  it("the CLI's table gives each flag the default of its option", () => {
    const rows = table('| option                           | default')
    const option = (flag: string) =>
      flag
        .replace(/^--([a-z-]+).*$/, '$1')
        .replace('prestop', 'preStop')
        .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    const defaults = new Map([...rows].map(([flag, cells]) => [option(flag), cells[0]]))
    for (const [key, value] of Object.entries(SIM_DEFAULTS))
      expect(defaults.get(key), key).toMatch(new RegExp(`^\`${String(value).replace(/[?{}]/g, '\\$&')}\`( |$)`))
    const range = `1–${SIM_LIMITS.maxCallers.toLocaleString('en-US')}`
    expect(rows.get('--concurrency <n>')?.[1]).toContain(range)
    expect(rows.get('--long-count <n>')?.[1]).toContain(range)
  })

  it('the readiness polling it states', () => {
    expect(readme).toContain(
      `every ${SIM_TIMINGS.readinessPollMs} ms (each request given ${SIM_TIMINGS.readinessRequestTimeoutMs / 1000} s`,
    )
  })

  it('the kubelet timing it states', () => {
    expect(readme).toContain(`never less than ${SIM_LIMITS.minimumGraceAfterPreStopMs / 1000} s after preStop`)
    expect(readme).toContain(`the last ${SIM_LIMITS.hookOutputLines} lines of its \`stdout\` and \`stderr\``)
  })
})
