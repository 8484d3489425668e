import { readFileSync } from 'node:fs'
import { DEFAULTS, EXIT_CODES, type ShutdownEvents } from '@lameduck/core'
import { describe, expect, it } from 'vitest'

// Defaults live in DEFAULTS; this keeps the README from drifting away from them.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

const rows = readme
  .split('\n')
  .filter((line) => line.startsWith('|'))
  .map((line) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim()),
  )

/** The cells of the first table row whose first cell is `name` in backticks. */
function row(name: string): string {
  const cells = rows.find((r) => r[0] === `\`${name}\``)
  if (!cells) throw new Error(`README has no row for ${name}`)
  return cells.join(' | ')
}

describe('README agrees with DEFAULTS', () => {
  it('options', () => {
    expect(row('gracePeriodMs')).toContain(`\`${DEFAULTS.gracePeriodMs}\``)
    expect(row('safetyMarginMs')).toContain(`\`${DEFAULTS.safetyMarginMs}\``)
    expect(row('drainDelayMs')).toContain(`\`${DEFAULTS.drainDelayMsInKubernetes}\` in Kubernetes`)
    expect(row('drainDelayMs')).toContain(`else \`${DEFAULTS.drainDelayMsElsewhere}\``)
    expect(row('terminationLog')).toContain(`\`${DEFAULTS.terminationLogPath}\` when it exists`)
    expect(row('terminationLog')).toContain(`\`${DEFAULTS.terminationLogMaxBytes}\` bytes`)
    expect(row('signals')).toContain(DEFAULTS.signals.map((s) => `'${s}'`).join(', '))
  })

  it('tasks', () => {
    expect(row('phase')).toContain(`\`'${DEFAULTS.phase}'\``)
    expect(row('timeoutMs')).toContain(`\`${DEFAULTS.taskTimeoutMs}\``)
    expect(row('critical')).toContain(`\`${DEFAULTS.critical}\``)
    expect(readme).toContain(`${DEFAULTS.exitReserveMs} ms (at most) before it`)
    expect(readme).toContain(`after ${DEFAULTS.stallReportMs / 1000} s without one`)
  })

  it('health checks and start-up', () => {
    /** The cells of the row for `name` in the section that starts with `heading`. */
    const inSection = (heading: string, name: string) => {
      const start = readme.indexOf(`\n## ${heading}\n`)
      expect(start, heading).toBeGreaterThan(0)
      const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
      const line = section.split('\n').find((l) => l.startsWith(`| \`${name}\``))
      expect(line, `${heading}: ${name}`).toBeDefined()
      return line as string
    }
    const { health, startup } = DEFAULTS
    expect(inSection('Health checks', 'timeoutMs')).toContain(`\`${health.timeoutMs}\``)
    expect(inSection('Health checks', 'cacheMs')).toContain(`\`${health.cacheMs}\``)
    expect(inSection('Health checks', 'affects')).toContain(`\`[${health.affects.map((p) => `'${p}'`).join(', ')}]\``)
    expect(inSection('Health checks', 'critical')).toContain(`\`${health.critical}\``)
    expect(inSection('Start-up', 'timeoutMs')).toContain(`\`${startup.timeoutMs}\``)
  })

  it('exit codes', () => {
    for (const code of Object.values(EXIT_CODES)) expect(row(String(code))).toBeTruthy()
  })
})

// Every event of ShutdownEvents, and only those (the type assertion fails the typecheck when one is added).
const EVENTS = [
  'state',
  'trigger',
  'phaseStart',
  'drainDelayEnd',
  'phaseEnd',
  'taskStart',
  'taskEnd',
  'report',
  'warning',
  'health',
  'startup',
] as const satisfies readonly (keyof ShutdownEvents)[]
const everyEvent: [Exclude<keyof ShutdownEvents, (typeof EVENTS)[number]>] extends [never] ? true : false = true

describe('README events table', () => {
  it('has a row for every event of ShutdownEvents, and no other', () => {
    expect(everyEvent).toBe(true)
    const start = readme.indexOf('### Events')
    const table = readme.slice(start, readme.indexOf('\n### ', start + 1))
    const names = table
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => /^\| `(\w+)`/.exec(line)?.[1])
    expect(names).toEqual([...EVENTS])
  })
})
