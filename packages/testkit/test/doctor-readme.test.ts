import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  DOCTOR_DEFAULTS,
  DOCTOR_FINDING_CODES,
  DOCTOR_HELP,
  DOCTOR_PLAN_ONLY,
  DOCTOR_PLAN_PARTLY,
  parseDoctorPlan,
} from '@lameduck/testkit'
import { afterAll, describe, expect, it } from 'vitest'
import { collected } from '../../../test/support/child.js'
import { DOCTOR_FACTS } from '../src/doctor-defaults.js'
import { doctorBin, doctorFixtures } from './doctor-support.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const heading = '\n## lameduck-doctor: manifests against the plan\n'
const section = (() => {
  const start = readme.indexOf(heading)
  if (start < 0) throw new Error(`README.md has no section "${heading.trim()}"`)
  const end = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
})()

/** The first fenced block of `lang` (`''`: a bare fence) in the doctor's section, exactly as written. */
function block(lang: string): string {
  const blocks: { lang: string; text: string }[] = []
  let open: { lang: string; lines: string[] } | undefined
  for (const line of section.split('\n')) {
    const fence = /^```(\S*)$/.exec(line)
    if (open && fence && fence[1] === '') {
      blocks.push({ lang: open.lang, text: `${open.lines.join('\n')}\n` })
      open = undefined
    } else if (open) open.lines.push(line)
    else if (fence) open = { lang: fence[1] as string, lines: [] }
  }
  const found = blocks.find((b) => b.lang === lang)
  if (!found) throw new Error(`the doctor's README section has no \`\`\`${lang} block`)
  return found.text
}

/** The rows of the table whose header line starts with `header`, by their first cell (backticks off). */
function table(header: string): Map<string, string[]> {
  const at = section.indexOf(header)
  if (at < 0) throw new Error(`no table "${header}" in the doctor's README section`)
  const lines = section.slice(at, section.indexOf('\n\n', at)).split('\n').slice(2)
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

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('the README’s lameduck-doctor section', () => {
  it('lists every finding code, in the catalogue’s order, with what needs the plan', () => {
    const rows = table('| code | finds |')
    expect([...rows.keys()]).toEqual([...DOCTOR_FINDING_CODES])
    for (const [code, [, needs]] of rows) {
      const expected = DOCTOR_PLAN_ONLY.includes(code as never)
        ? 'yes'
        : DOCTOR_PLAN_PARTLY.includes(code as never)
          ? 'in part'
          : 'no'
      expect(needs, code).toBe(expected)
    }
  })

  it('gives the plan file’s http defaults the code uses', () => {
    const rows = table('| key ')
    expect([...rows.keys()]).toEqual(['http.port', ...Object.keys(DOCTOR_DEFAULTS.http).map((k) => `http.${k}`)])
    expect(rows.get('http.port')?.[0]).toBe('required')
    for (const [key, value] of Object.entries(DOCTOR_DEFAULTS.http))
      expect(rows.get(`http.${key}`)?.[0], key).toBe(`\`${value}\``)
  })

  it('states the defaults and facts the checks rest on', () => {
    const { periodSeconds, failureThreshold } = DOCTOR_DEFAULTS.probe
    expect(section).toContain(`(${DOCTOR_DEFAULTS.terminationGracePeriodSeconds} when absent)`)
    expect(section).toContain(`(${periodSeconds} × ${failureThreshold} when absent)`)
    expect(section).toContain(`(${DOCTOR_FACTS.istioTerminationDrainMs / 1000} s when absent)`)
    expect(section).toContain(`(${DOCTOR_FACTS.linkerdWaitBeforeExitMs / 1000} when absent)`)
    expect(section).toContain(`above ${DOCTOR_FACTS.gkeSpotGraceSeconds} s`)
  })

  it('its CLI table has the flags of --help', () => {
    const flags = [...table('| option ').keys()].map((f) => f.replace(/ .*$/, ''))
    const help = [...DOCTOR_HELP.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1])
    expect(flags).toEqual(help)
  })

  it('runs as written: the plan script writes the plan shown, and the doctor prints the output shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lameduck-doctor-readme-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'package.json'), '{ "name": "doctor-readme", "private": true, "type": "module" }\n')
    mkdirSync(join(dir, 'node_modules/@lameduck'), { recursive: true })
    mkdirSync(join(dir, 'node_modules/.bin'))
    for (const pkg of ['core', 'testkit'])
      symlinkSync(join(root, 'packages', pkg), join(dir, 'node_modules/@lameduck', pkg), 'dir')
    symlinkSync(doctorBin, join(dir, 'node_modules/.bin/lameduck-doctor'))
    cpSync(join(doctorFixtures, 'readme/k8s'), join(dir, 'k8s'), { recursive: true })
    const script = block('js')
    expect(script).toMatch(/^\/\/ doctor-plan\.mjs/)
    writeFileSync(join(dir, 'doctor-plan.mjs'), script)

    const env = { ...process.env }
    delete env.TERMINATION_GRACE_PERIOD_SECONDS
    delete env.KUBERNETES_SERVICE_HOST
    const child = spawn('bash', ['-uo', 'pipefail', '-c', block('sh')], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const { code, stdout, stderr } = await collected(child)
    expect(stdout, stderr).toBe(block(''))
    expect(code, stderr).toBe(1)
    const written = JSON.parse(readFileSync(join(dir, 'lameduck-plan.json'), 'utf8'))
    expect(written).toEqual(JSON.parse(block('json')))
    expect(parseDoctorPlan(written)).toEqual(written)
  })
})
