import { readFileSync } from 'node:fs'
import { HTTP_DEFAULTS } from '@lameduck/http'
import { describe, expect, it } from 'vitest'
import { ADMIN_OPTIONS } from '../src/admin.js'
import { DRAIN_OPTIONS } from '../src/drain.js'
import { PROBE_OPTIONS } from '../src/probes.js'

// Defaults live in HTTP_DEFAULTS and the option lists the checks use; this keeps the README from drifting.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The table rows of the README section whose heading starts with `## \`<name>(`, as cells. */
function rows(name: string): string[][] {
  const start = readme.indexOf(`## \`${name}(`)
  if (start === -1) throw new Error(`README has no section for ${name}`)
  const end = readme.indexOf('\n## ', start + 1)
  return readme
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
}

/** The row of section `name` whose first cell names `option` in backticks. */
function row(name: string, option: string): string {
  const cells = rows(name).find((r) => r[0]?.includes(`\`${option}\``))
  if (!cells) throw new Error(`README's ${name} section has no row for ${option}`)
  return cells.join(' | ')
}

describe('README agrees with the code', () => {
  it('documents every option each function accepts', () => {
    for (const option of DRAIN_OPTIONS) expect(row('drainHttpServer', option)).toBeTruthy()
    for (const option of PROBE_OPTIONS) expect(row('createProbes', option)).toBeTruthy()
    for (const option of ADMIN_OPTIONS) expect(row('listenAdmin', option)).toBeTruthy()
  })

  it('states the defaults HTTP_DEFAULTS holds', () => {
    expect(row('drainHttpServer', 'name')).toContain(`\`'${HTTP_DEFAULTS.drainTaskName}'\``)
    expect(row('drainHttpServer', 'timeoutMs')).toContain(`\`${HTTP_DEFAULTS.drainTimeoutMs}\``)
    expect(row('drainHttpServer', 'critical')).toContain(`\`${HTTP_DEFAULTS.critical}\``)
    expect(row('drainHttpServer', 'idleMs')).toContain('`drainDelayMs`')
    const paths = row('createProbes', 'paths')
    for (const path of Object.values(HTTP_DEFAULTS.paths)) expect(paths).toContain(`\`${path}\``)
    expect(row('createProbes', 'token')).toContain(HTTP_DEFAULTS.tokenEnv)
  })
})
