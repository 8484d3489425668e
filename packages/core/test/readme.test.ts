import { readFileSync } from 'node:fs'
import { DEFAULTS, EXIT_CODES } from '@lameduck/core'
import { describe, expect, it } from 'vitest'

// Defaults live in DEFAULTS; this keeps the README from drifting away from them.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function row(name: string): string {
  const line = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`))
  if (!line) throw new Error(`README has no row for ${name}`)
  return line
}

describe('README agrees with DEFAULTS', () => {
  it('options', () => {
    expect(row('gracePeriodMs')).toContain(`\`${DEFAULTS.gracePeriodMs}\``)
    expect(row('safetyMarginMs')).toContain(`\`${DEFAULTS.safetyMarginMs}\``)
    expect(row('drainDelayMs')).toContain(`\`${DEFAULTS.drainDelayMsInKubernetes}\` in Kubernetes`)
    expect(row('drainDelayMs')).toContain(`else \`${DEFAULTS.drainDelayMsElsewhere}\``)
    expect(row('signals')).toContain(DEFAULTS.signals.map((s) => `'${s}'`).join(', '))
  })

  it('tasks', () => {
    expect(row('phase')).toContain(`\`'${DEFAULTS.phase}'\``)
    expect(row('timeoutMs')).toContain(`\`${DEFAULTS.taskTimeoutMs}\``)
    expect(row('critical')).toContain(`\`${DEFAULTS.critical}\``)
    expect(readme).toContain(`${DEFAULTS.exitReserveMs} ms (at most) before it`)
  })

  it('exit codes', () => {
    for (const code of Object.values(EXIT_CODES)) expect(readme).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'))
  })
})
