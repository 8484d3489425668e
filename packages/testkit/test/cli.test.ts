import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { HELP, main, parseDuration, SIM_DEFAULTS } from '@lameduck/testkit'
import { describe, expect, it } from 'vitest'
import { spawnChild } from '../../../test/support/child.js'

const bin = fileURLToPath(new URL('../bin/lameduck-sim.js', import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.mjs`, import.meta.url))

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
})

describe('lameduck-sim CLI', () => {
  it('--help documents every option with its default', async () => {
    const { io, out } = capture()
    expect(await main(['--help'], io)).toBe(0)
    const help = out.join('')
    expect(help).toBe(HELP)
    for (const flag of [
      'concurrency',
      'think',
      'path',
      'long',
      'long-count',
      'long-path',
      'prestop',
      'prestop-header',
      'prestop-port',
      'signal',
      'grace',
      'propagation',
      'warmup',
      'tail',
      'startup-timeout',
      'request-timeout',
      'proxy-port',
      'env',
      'json',
    ])
      expect(help).toContain(`--${flag}`)
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
      ['--prestop-port', '0', '--', 'node', '-e', '0'],
    ]) {
      const { io, err } = capture()
      expect(await main(argv, io)).toBe(2)
      expect(err.join('')).toMatch(/^lameduck-sim: /)
    }
  })

  it('--json prints one object with a numeric failed; exit code follows the verdict', async () => {
    const cli = spawnChild(process.execPath, [
      bin,
      '--json',
      '--warmup',
      '400ms',
      '--propagation',
      '300ms',
      '--tail',
      '200ms',
      '--grace',
      '3s',
      '--',
      process.execPath,
      fixture('exit-immediately'),
    ])
    const exit = await cli.exited
    const result = JSON.parse(cli.stdout.join('\n'))
    expect(typeof result.failed).toBe('number')
    expect(result.failed).toBeGreaterThan(0)
    expect(exit.code).toBe(1)
  })

  it('prints a table and exits 0 for a service that drops nothing', async () => {
    const cli = spawnChild(process.execPath, [
      bin,
      '--warmup',
      '400ms',
      '--propagation',
      '300ms',
      '--env',
      'DRAIN_DELAY_MS=500',
      '--',
      process.execPath,
      fixture('well-behaved'),
    ])
    const exit = await cli.exited
    const text = cli.stdout.join('\n')
    expect(text).toContain('PASS')
    expect(text).toMatch(/^0 of \d+ requests failed$/m)
    expect(exit.code).toBe(0)
  })

  it('--prestop-port admin waits for ADMIN_PORT and sends the preStop there', async () => {
    // The fixture opens ADMIN_PORT 1 s after PORT, well after the 300 ms warmup would have ended, and answers
    // /prestop only there.
    const marker = `lameduck-test-${randomUUID()}`
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
        '--',
        process.execPath,
        fixture('admin-port'),
        marker,
      ],
      io,
    )
    expect(err.join('')).toBe('')
    const result = JSON.parse(out.join(''))
    expect(result.preStop).toMatchObject({ path: '/prestop', status: 200, error: null, body: 'admin preStop done\n' })
    expect(result.lastOutput).toContain('preStop on ADMIN_PORT: /prestop')
    expect(result.lastOutput).not.toContain('preStop on PORT')
    expect(result.lastOutput).toContain('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.trim()).toBe('')
  })

  it('Ctrl-C exits 130 within seconds and leaves no process behind', async () => {
    const marker = `lameduck-test-${randomUUID()}`
    const cli = spawnChild(process.execPath, [
      bin,
      '--warmup',
      '30s',
      '--',
      process.execPath,
      fixture('ignores-sigterm'),
      marker,
    ])
    await new Promise((resolve) => setTimeout(resolve, 1000))
    cli.mark()
    cli.child.kill('SIGINT')
    const exit = await cli.exited
    expect(exit.code).toBe(130)
    expect(exit.elapsedMs).toBeLessThan(3000)
    expect(cli.stderr.join('\n')).toContain('interrupted')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout.trim()).toBe('')
  })

  it('a command that does not exist exits 2 with a clear message', async () => {
    const cli = spawnChild(process.execPath, [bin, '--', 'no-such-binary-lameduck'])
    const exit = await cli.exited
    expect(exit.code).toBe(2)
    expect(cli.stderr.join('\n')).toContain('command not found: no-such-binary-lameduck')
  })
})
