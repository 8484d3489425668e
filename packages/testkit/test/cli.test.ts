import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MAX_TIMER_MS } from '@lameduck/core'
import { HELP, main, parseDuration, SIM_DEFAULTS } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'
import { spawnChild } from '../../../test/support/child.js'
import { delay } from '../../../test/support/shutdown.js'
import { joinCommand, splitCommand } from '../src/command-line.js'
import { alive, expectNoneLeft, fixture, leftovers, newMarker, reapersOf } from './support.js'

const bin = fileURLToPath(new URL('../bin/lameduck-sim.js', import.meta.url))
/** Runs `lameduck-sim args…` as a user does. */
const sim = (...args: string[]) => spawnChild(process.execPath, [bin, ...args])
/** Short timings for a run whose output and exit code are the point, not the load. */
const QUICK = ['--warmup', '400ms', '--propagation', '300ms']
/** The service part of the command line: `-- node fixtures/<name>.mjs args…`. */
const service = (name: string, ...args: string[]) => ['--', process.execPath, fixture(name), ...args]
/** Polls until none of `pids` is alive or `timeoutMs` has passed; returns those still alive. */
async function survivors(pids: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const left = pids.filter(alive)
    if (left.length === 0 || performance.now() > deadline) return left
    await delay(50)
  }
}

/** The pids the writes-pid fixture wrote to `dir`: each replica's and its child's, once both replicas have. */
async function replicaPids(dir: string, timeoutMs = 10_000): Promise<{ replicas: number[]; all: number[] }> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const files = readdirSync(dir)
    if (files.length >= 2) {
      const pairs = files.map((f) => readFileSync(join(dir, f), 'utf8').trim().split(' ').map(Number))
      if (pairs.every((pair) => pair.length === 2 && pair.every((pid) => pid > 0)))
        return { replicas: pairs.map((pair) => pair[0] as number), all: pairs.flat() }
    }
    await delay(50)
  }
  throw new Error(`the replicas did not write their pids to ${dir} within ${timeoutMs} ms`)
}

/** Starts the CLI on writes-pid with a long warmup; the test ends it. Cleans up after a failed assertion. */
async function startLongRun() {
  const marker = newMarker()
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-sim-pids-'))
  const cli = sim('--warmup', '30s', '--env', `PID_DIR=${dir}`, ...service('writes-pid', marker))
  const pids = await replicaPids(dir).catch((error: Error) => {
    cli.dispose()
    rmSync(dir, { recursive: true, force: true })
    throw error
  })
  const cleanup = () => {
    cli.dispose()
    rmSync(dir, { recursive: true, force: true })
    // Only if the test failed: the replicas' groups (each replica leads its own).
    if (!pids.all.some(alive)) return
    for (const pid of pids.replicas) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // Gone, as it should be.
      }
    }
  }
  return { cli, marker, pids, cleanup }
}

function capture() {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err }
}

describe('durations', () => {
  it('accept milliseconds and suffixed values', () => {
    expect(parseDuration('x', '500')).toBe(500)
    expect(parseDuration('x', '500ms')).toBe(500)
    expect(parseDuration('x', '8s')).toBe(8000)
    expect(parseDuration('x', '1.5s')).toBe(1500)
    expect(parseDuration('x', '2m')).toBe(120_000)
    expect(parseDuration('x', 250)).toBe(250)
    for (const bad of ['', '-1s', '5 parsecs', 's', '1h']) expect(() => parseDuration('x', bad)).toThrow(/x must be/)
  })

  it('are bounded by what Node timers hold (2^31-1 ms), refuse null, and name what was passed', () => {
    expect(parseDuration('x', MAX_TIMER_MS)).toBe(MAX_TIMER_MS)
    expect(parseDuration('x', '35791m')).toBe(2_147_460_000)
    expect(() => parseDuration('x', MAX_TIMER_MS + 1)).toThrow(/^x must be at most 2147483647 ms .*; got 2147483648$/)
    expect(() => parseDuration('x', '35792m')).toThrow(/^x must be at most 2147483647 ms .*; got "35792m"$/)
    expect(() => parseDuration('x', `${'9'.repeat(400)}s`)).toThrow(/at most 2147483647 ms/)
    for (const bad of [null, undefined, {}, Number.NaN, Number.POSITIVE_INFINITY, -1])
      expect(() => parseDuration('x', bad)).toThrow(
        expect.objectContaining({
          code: 'LAMEDUCK_ERR_INVALID_DURATION',
          message: expect.stringMatching(/^x must be /),
        }),
      )
  })
})

describe('--prestop-exec splits its command line without a shell', () => {
  it('white space separates words; quotes group them; a backslash keeps the next character', () => {
    expect(splitCommand('x', 'node prestop.mjs')).toEqual(['node', 'prestop.mjs'])
    expect(splitCommand('x', '  node\t prestop.mjs  --port=8080 ')).toEqual(['node', 'prestop.mjs', '--port=8080'])
    expect(splitCommand('x', `node -e 'console.log("a b")'`)).toEqual(['node', '-e', 'console.log("a b")'])
    expect(splitCommand('x', 'echo "say \\"hi\\"" \\$HOME')).toEqual(['echo', 'say "hi"', '$HOME'])
    expect(splitCommand('x', `a'b c'"d"`)).toEqual(['ab cd'])
    expect(splitCommand('x', `'' x`)).toEqual(['', 'x'])
    expect(splitCommand('x', `sh -c 'curl -s localhost:8080/shutdown && sleep 1'`)).toEqual([
      'sh',
      '-c',
      'curl -s localhost:8080/shutdown && sleep 1',
    ])
    // What a shell would do with these is not done: they are words like any other.
    expect(splitCommand('x', 'ls * | wc $X')).toEqual(['ls', '*', '|', 'wc', '$X'])
  })

  it('reads back what joinCommand writes', () => {
    for (const argv of [
      ['node', 'a b.mjs'],
      ['node', '-e', `console.log('it''s')`],
      ['x', ''],
      ['--', '"q"'],
    ])
      expect(splitCommand('x', joinCommand(argv))).toEqual(argv)
  })

  it('refuses an unterminated quote, a trailing backslash and an empty command, naming the flag', () => {
    for (const line of [`node -e 'x`, 'node "x', 'node \\', '', '   '])
      expect(() => splitCommand('--prestop-exec', line)).toThrow(
        expect.objectContaining({
          code: 'LAMEDUCK_ERR_INVALID_OPTION',
          message: expect.stringMatching(/^--prestop-exec: /),
        }),
      )
  })
})

describe('lameduck-sim CLI', () => {
  it('--help documents every option with its default', async () => {
    const { io, out } = capture()
    expect(await main(['--help'], io)).toBe(0)
    const help = out.join('')
    expect(help).toBe(HELP)
    const flags = [
      'concurrency',
      'think',
      'churn',
      'no-keepalive',
      'path',
      'long',
      'long-count',
      'long-path',
      'ws',
      'ws-path',
      'ws-interval',
      'prestop',
      'prestop-header',
      'prestop-port',
      'prestop-scheme',
      'prestop-exec',
      'kubelet-version',
      'signal',
      'grace',
      'propagation',
      'warmup',
      'tail',
      'startup-timeout',
      'readiness',
      'request-timeout',
      'proxy-port',
      'env',
      'json',
      'help',
    ]
    // One line per option, each ending with its default.
    const optionLines = help.split('\n').filter((line) => /^\s+--/.test(line))
    expect(optionLines.map((line) => /^\s+--([a-z-]+)/.exec(line)?.[1])).toEqual(flags)
    for (const line of optionLines) expect(line).toMatch(/ \(default: [^()]+\)$/)
    expect(help).toContain(`(default: ${SIM_DEFAULTS.concurrency})`)
    expect(help).toContain(`(default: ${SIM_DEFAULTS.grace})`)
    expect(help).toContain(`(default: ${SIM_DEFAULTS.propagation})`)
  })

  it('rejects bad usage with exit code 2 and a message', async () => {
    for (const argv of [
      [],
      ['--nope', '--', 'node'],
      ['--concurrency', 'many', '--', 'node'],
      ['--prestop-header', 'no-colon', '--', 'node'],
      ['--env', 'NOEQUALS', '--', 'node'],
      ['--grace', '3 fortnights', '--', 'node', '-e', '0'],
      ['--signal', 'TERM', '--', 'node', '-e', '0'],
      ['--signal', 'SIGFOO', '--', 'node', '-e', '0'],
      ['--prestop-port', '0', '--', 'node', '-e', '0'],
      ['--proxy-port', '70000', '--', 'node', '-e', '0'],
      ['--env', 'PORT=1', '--', 'node', '-e', '0'],
      ['--prestop-header', 'bad name: x', '--', 'node', '-e', '0'],
      ['--churn', '0', '--', 'node', '-e', '0'],
      ['--ws', '0', '--', 'node', '-e', '0'],
      ['--ws', 'many', '--', 'node', '-e', '0'],
      ['--ws', '10', '--ws-interval', '0ms', '--', 'node', '-e', '0'],
      ['--ws-path', 'ws', '--', 'node', '-e', '0'],
      ['--churn', '20', '--no-keepalive', '--', 'node', '-e', '0'],
      ['--prestop-scheme', 'ftp', '--', 'node', '-e', '0'],
      ['--kubelet-version', 'v1.31', '--', 'node', '-e', '0'],
      ['--prestop-exec', "node -e 'unterminated", '--', 'node', '-e', '0'],
      ['--prestop-exec', '   ', '--', 'node', '-e', '0'],
      ['--prestop-exec', 'node hook.mjs', '--prestop', '/shutdown', '--', 'node', '-e', '0'],
      ['--prestop-exec', 'node hook.mjs', '--prestop-header', 'A: b', '--', 'node', '-e', '0'],
      ['--prestop-exec', 'node hook.mjs', '--prestop-scheme', 'https', '--', 'node', '-e', '0'],
    ]) {
      const { io, err } = capture()
      expect(await main(argv, io)).toBe(2)
      expect(err.join('')).toMatch(/^lameduck-sim: /)
    }
  })

  it('an unknown flag names the one meant; a duration names the flag and what was written', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--gracee', '30s', '--', 'node'],
        /^lameduck-sim: unknown option "--gracee" — did you mean "--grace"\? \(known: --concurrency, .*\) \[LAMEDUCK_ERR_UNKNOWN_OPTION\]\n/,
      ],
      [['--prestop-headers=x: y', '--', 'node'], /did you mean "--prestop-header"\?/],
      [
        ['--startup-timeout', '36000m', '--', 'node'],
        /^lameduck-sim: --startup-timeout must be at most 2147483647 ms .*; got "36000m" \[LAMEDUCK_ERR_INVALID_DURATION\]\n/,
      ],
      [
        ['--grace', '3 fortnights', '--', 'node'],
        /^lameduck-sim: --grace must be a duration: .*; got "3 fortnights" \[LAMEDUCK_ERR_INVALID_DURATION\]\n/,
      ],
      [
        ['--concurrency', 'many', '--', 'node'],
        /^lameduck-sim: --concurrency: expected a whole number, got many \[LAMEDUCK_ERR_INVALID_OPTION\]\n/,
      ],
      // Refused by the library's own checks, which name its options: the message names the flag instead.
      [
        ['--readiness', 'healthz', '--', 'node'],
        /^lameduck-sim: --readiness: expected a path starting with \/ .*; got "healthz" \[LAMEDUCK_ERR_INVALID_OPTION\]\n/,
      ],
      [
        ['--concurrency', '0', '--', 'node'],
        /^lameduck-sim: --concurrency: expected an integer from 1 to 10000; got 0 \[LAMEDUCK_ERR_INVALID_OPTION\]\n/,
      ],
      [['--prestop-scheme', 'ftp', '--', 'node'], /^lameduck-sim: --prestop-scheme: expected one of "http", "https"/],
      [['--prestop-port', '70000', '--', 'node'], /^lameduck-sim: --prestop-port: expected an integer from 1 to 65535/],
      [
        ['--ws', '1', '--ws-interval', '0', '--', 'node'],
        /^lameduck-sim: --ws-interval must be greater than 0 ms; got 0/,
      ],
      [['--env', 'PORT=1', '--', 'node'], /^lameduck-sim: --env PORT: the simulator gives each replica its own PORT/],
    ]
    for (const [argv, message] of cases) {
      const { io, err } = capture()
      expect(await main(argv, io), argv.join(' ')).toBe(2)
      expect(err.join(''), argv.join(' ')).toMatch(message)
    }
    // After `--`, everything is the service's: its flags are not the simulator's business.
    const { io, err } = capture()
    expect(await main(['--help', '--', 'node', '--gracee'], io)).toBe(0)
    expect(err).toEqual([])
  })

  it('exits 1 and prints the reason when the preStop call is refused (401), though nothing was dropped', async () => {
    const cli = sim(
      '--prestop',
      '/shutdown',
      '--env',
      'LAMEDUCK_SHUTDOWN_TOKEN=cli-test-token-0123456789abcdef',
      '--env',
      'DRAIN_DELAY_MS=500',
      ...QUICK,
      '--grace',
      '5s',
      ...service('lameduck-service'),
    )
    const exit = await cli.exited
    const text = cli.stdout.join('\n')
    expect(text).toMatch(/^0 of \d+ requests failed$/m)
    expect(text).toMatch(
      /^ {2}verdict +FAIL: preStop \/shutdown answered 401: the token header is missing or wrong \(no Authorization header was sent/m,
    )
    expect(exit.code).toBe(1)
  })

  it('an unknown --signal exits 2 at once, naming it, without running the service', async () => {
    // Without the check the run would go on: SIGFOO never reaches the service, which SIGKILL ends after 1 s.
    const marker = newMarker()
    const cli = sim('--signal', 'SIGFOO', '--warmup', '300ms', '--grace', '1s', ...service('well-behaved', marker))
    const exit = await cli.exited
    expect(exit.code).toBe(2)
    expect(cli.stderr.join('\n')).toMatch(
      /^lameduck-sim: cannot handle signal "SIGFOO": not a signal this platform knows\b.*\[LAMEDUCK_ERR_UNKNOWN_SIGNAL\]$/m,
    )
    expect(cli.stdout.join('')).toBe('')
    expect(exit.elapsedMs).toBeLessThan(1500)
  })

  it('--json prints one object with a numeric failed; exit code follows the verdict', async () => {
    const cli = sim('--json', ...QUICK, '--tail', '200ms', '--grace', '3s', ...service('exit-immediately'))
    const exit = await cli.exited
    const result = JSON.parse(cli.stdout.join('\n'))
    expect(typeof result.failed).toBe('number')
    expect(result.failed).toBeGreaterThan(0)
    expect(exit.code).toBe(1)
  })

  it('prints a table and exits 0 for a service that drops nothing', async () => {
    const cli = sim(...QUICK, '--env', 'DRAIN_DELAY_MS=500', ...service('well-behaved'))
    const exit = await cli.exited
    const text = cli.stdout.join('\n')
    expect(text).toContain('PASS')
    expect(text).toMatch(/^0 of \d+ requests failed$/m)
    expect(exit.code).toBe(0)
    // The reaper went with it.
    expect(reapersOf(cli.child.pid as number)).toEqual([])
  })

  it('--churn and --prestop-exec: the load row says the model, the preStop row the hook and its output', async () => {
    const hook = `${process.execPath} ${fixture('hook')} fail`
    const cli = sim(
      ...QUICK,
      '--churn',
      '20',
      '--prestop-exec',
      hook,
      '--env',
      'DRAIN_DELAY_MS=400',
      ...service('well-behaved'),
    )
    const exit = await cli.exited
    const text = cli.stdout.join('\n')
    expect(text).toMatch(
      /^ {2}load +\d+ req\/s at concurrency 64, a new connection every 20 requests, \d+ connections opened$/m,
    )
    expect(text).toMatch(/^ {2}preStop +exec \S+ \S+hook\.mjs fail → exit 3 in \d+ ms$/m)
    expect(text).toMatch(/^ +stderr: error: connect ECONNREFUSED 127\.0\.0\.1:9$/m)
    expect(text).toMatch(
      /^ {2}verdict +FAIL: preStop exec \S+ \S+hook\.mjs fail exited with code 3 \(the kubelet records FailedPreStopHook/m,
    )
    expect(exit.code).toBe(1)

    const json = sim(
      '--json',
      ...QUICK,
      '--no-keepalive',
      '--concurrency',
      '8',
      '--env',
      'DRAIN_DELAY_MS=400',
      ...service('well-behaved'),
    )
    await json.exited
    const result = JSON.parse(json.stdout.join('\n'))
    expect(result.config.churn).toBe(1)
    expect(result.load.connections).toBe(result.load.total)
  })

  it('--prestop-port admin waits for ADMIN_PORT and sends the preStop there', async () => {
    // The fixture opens ADMIN_PORT 1 s after PORT, well after the 300 ms warmup would have ended, and answers
    // /prestop only there.
    const marker = newMarker()
    const { io, out, err } = capture()
    await main(
      [
        '--json',
        '--prestop',
        '/prestop',
        '--prestop-port',
        'admin',
        '--env',
        'ADMIN_DELAY_MS=1000',
        '--warmup',
        '300ms',
        '--propagation',
        '300ms',
        '--tail',
        '100ms',
        '--concurrency',
        '16',
        ...service('admin-port', marker),
      ],
      io,
    )
    expect(err.join('')).toBe('')
    const result = JSON.parse(out.join(''))
    expect(result.preStop).toMatchObject({ path: '/prestop', status: 200, error: null, body: 'admin preStop done\n' })
    expect(result.lastOutput).toContain('preStop on ADMIN_PORT: /prestop')
    expect(result.lastOutput).not.toContain('preStop on PORT')
    expect(result.lastOutput).toContain('SIGTERM')
    await expectNoneLeft(marker)
  })

  it('Ctrl-C exits 130 within seconds and leaves no process behind', async () => {
    const marker = newMarker()
    const cli = sim('--warmup', '30s', ...service('ignores-sigterm', marker))
    await delay(1000)
    cli.mark()
    cli.child.kill('SIGINT')
    const exit = await cli.exited
    expect(exit.code).toBe(130)
    expect(exit.elapsedMs).toBeLessThan(3000)
    expect(cli.stderr.join('\n')).toContain('interrupted by SIGINT')
    await expectNoneLeft(marker)
  })

  for (const signal of ['SIGHUP', 'SIGQUIT'] as const)
    it(`${signal} exits 128 + its number with a message, and no replica outlives the CLI`, async () => {
      const { cli, marker, pids, cleanup } = await startLongRun()
      try {
        cli.mark()
        cli.child.kill(signal)
        const exit = await cli.exited
        expect(exit.signal).toBeNull()
        expect(exit.code).toBe(128 + constants.signals[signal])
        expect(exit.elapsedMs).toBeLessThan(3000)
        expect(cli.stderr.join('\n')).toContain(`lameduck-sim: interrupted by ${signal}; replicas killed`)
        expect(await survivors(pids.all)).toEqual([])
        expect(leftovers(marker)).toBe('')
        expect(reapersOf(cli.child.pid as number)).toEqual([])
      } finally {
        cleanup()
      }
    })

  it('SIGKILL of the CLI: its reaper kills every replica within seconds, then exits', async () => {
    const { cli, marker, pids, cleanup } = await startLongRun()
    try {
      const simulator = cli.child.pid as number
      const reapers = reapersOf(simulator)
      expect(reapers).toHaveLength(1)
      expect(pids.all.filter(alive)).toEqual(pids.all)
      cli.child.kill('SIGKILL')
      expect((await cli.exited).signal).toBe('SIGKILL')
      expect(await survivors(pids.all)).toEqual([])
      expect(leftovers(marker)).toBe('')
      expect(await survivors(reapers)).toEqual([])
    } finally {
      cleanup()
    }
  })

  it('a command that does not exist exits 2 with a clear message', async () => {
    const cli = sim('--', 'no-such-binary-lameduck')
    const exit = await cli.exited
    expect(exit.code).toBe(2)
    expect(cli.stderr.join('\n')).toContain('command not found: no-such-binary-lameduck')
  })
})
