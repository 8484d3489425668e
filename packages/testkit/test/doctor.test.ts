import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createShutdown } from '@lameduck/core'
import {
  checkManifests,
  DOCTOR_FINDING_CODES,
  DOCTOR_HELP,
  DOCTOR_PLAN_ONLY,
  type DoctorResult,
  doctorPlan,
  parseDoctorPlan,
  readDoctorPlan,
  writeDoctorPlan,
} from '@lameduck/testkit'
import { afterAll, describe, expect, it } from 'vitest'
import { doctor, doctorFixtures, marker } from './doctor-support.js'

const bad = readdirSync(join(doctorFixtures, 'bad'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
const read = (file: string) => readFileSync(join(doctorFixtures, file), 'utf8')
const json = (stdout: string) => JSON.parse(stdout) as DoctorResult

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-doctor-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('lameduck-doctor over a folder of bad manifests: one finding each, at the marked line', () => {
  it('every finding code has a fixture', () => {
    const codes = new Set(bad.map((f) => marker(`bad/${f}`).code))
    expect([...codes].sort()).toEqual([...DOCTOR_FINDING_CODES].sort())
  })

  it.each(bad)('%s', async (file) => {
    const expected = marker(`bad/${file}`)
    const run = await doctor([...expected.args, '--json', `bad/${file}`])
    const log = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`
    expect(run.code, log).toBe(1)
    expect(run.stderr, log).toBe('')
    const { findings, passed } = json(run.stdout)
    expect(passed).toBe(false)
    expect(findings.map((f) => ({ code: f.code, line: f.line, file: f.file }))).toEqual([
      { code: expected.code, line: expected.line, file: `bad/${file}` },
    ])
    const [finding] = findings
    expect(finding?.message.length, log).toBeGreaterThan(20)
    expect(finding?.fix.length, log).toBeGreaterThan(10)
    expect(finding?.object).toMatch(/^(Deployment|StatefulSet|DaemonSet|Pod)\/web$/)
  })

  it('the whole folder at once: every fixture’s finding, by file then line', async () => {
    // Left out of the per-file count: the fixtures that need another plan (# args:), and the missing
    // PodDisruptionBudgets — in one input, the other fixtures' budgets select these pods (all are app: web).
    const run = await doctor(['--json', '--plan', 'plan.json', 'bad'])
    expect(run.code, run.stderr).toBe(1)
    const { findings } = json(run.stdout)
    const files = findings.map((f) => f.file)
    expect(files).toEqual([...files].sort())
    const alone = (f: string) => read(`bad/${f}`).includes('# args:') || f.startsWith('pdb-missing')
    for (const file of bad.filter((f) => !alone(f))) {
      const { code, line } = marker(`bad/${file}`)
      expect(
        findings.filter((f) => f.file === join('bad', file)).map((f) => [f.code, f.line]),
        file,
      ).toEqual([[code, line]])
    }
  })
})

describe('lameduck-doctor on a clean manifest', () => {
  it('exits 0 with the plan, and says what it checked', async () => {
    const run = await doctor(['--plan', 'plan.json', 'clean.yaml'])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).toBe('no finding: 1 workload checked (Deployment/web)\n')
    expect(run.stderr).toBe('')
  })

  it('exits 0 without a plan too, and names the checks it could not run', async () => {
    const run = await doctor(['clean.yaml'])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    expect(run.stdout).toContain('no finding: 1 workload checked (Deployment/web)')
    expect(run.stdout).toContain(`not checked: ${DOCTOR_PLAN_ONLY.join(', ')} (no --plan)`)
    expect(run.stdout).toMatch(/checked in part without --plan: LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET/)
  })

  it('without a plan, the checks that need one find nothing; the others still do', async () => {
    expect((await doctor(['bad/grace-too-short.yaml'])).code).toBe(0)
    expect((await doctor(['bad/readiness-slower-than-drain.yaml'])).code).toBe(0)
    const pid1 = await doctor(['--json', 'bad/node-not-pid1.yaml'])
    expect(pid1.code).toBe(1)
    expect(json(pid1.stdout).findings.map((f) => f.code)).toEqual(['LAMEDUCK_DOCTOR_NODE_NOT_PID1'])
    expect(json(pid1.stdout).notChecked).toEqual(DOCTOR_PLAN_ONLY)
  })
})

describe('lameduck-doctor output and flags', () => {
  it('prints file:line:column, the code, the object and container, the message and the fix', async () => {
    const run = await doctor(['--plan', 'plan.json', 'bad/token-in-spec.yaml'])
    expect(run.code).toBe(1)
    const [head, message, fix] = run.stdout.split('\n')
    expect(head).toBe(
      `bad/token-in-spec.yaml:${marker('bad/token-in-spec.yaml').line}:21  LAMEDUCK_DOCTOR_TOKEN_IN_SPEC  Deployment/web (container app)`,
    )
    expect(message).toMatch(
      /^ {2}the preStop httpGet hook carries the shutdown token in a literal Authorization header/,
    )
    expect(fix).toMatch(
      /^ {2}fix: use lifecycle\.preStop\.exec\.command: \["node", "\/app\/node_modules\/@lameduck\/http\/bin\/lameduck-prestop\.js", "--port"/,
    )
    expect(run.stdout).toMatch(/\n1 finding; 1 workload checked \(Deployment\/web\)\n$/)
  })

  it('reads stdin for -, multi-document as helm template prints it: lines count from the top of the stream', async () => {
    const clean = read('clean.yaml')
    const pdb = read('bad/pdb-missing.yaml')
    const offset = clean.split('\n').length - 1 + 1 // clean.yaml's lines, then the `---` line
    // clean.yaml's PodDisruptionBudget selects app: web, so it covers pdb-missing's Deployment of that name too…
    const covered = await doctor(['--json', '--plan', 'plan.json', '-'], { input: `${clean}---\n${pdb}` })
    expect(covered.code, covered.stderr).toBe(0)
    expect(json(covered.stdout).checked).toEqual(['Deployment/web', 'Deployment/web'])
    // …and once its pods are app: shop, nothing does.
    const shop = pdb.replace(/name: web/g, 'name: shop').replace(/app: web/g, 'app: shop')
    const run = await doctor(['--json', '--plan', 'plan.json', '-'], { input: `${clean}---\n${shop}` })
    expect(run.code, run.stderr).toBe(1)
    expect(json(run.stdout).findings.map((f) => [f.file, f.code, f.line, f.object])).toEqual([
      ['<stdin>', 'LAMEDUCK_DOCTOR_PDB_MISSING', offset + marker('bad/pdb-missing.yaml').line, 'Deployment/shop'],
    ])
  })

  it('stdin alone, one fixture piped', async () => {
    const { code, line } = marker('bad/node-not-pid1--sh.yaml')
    const run = await doctor(['--json', '--plan', 'plan.json', '-'], { input: read('bad/node-not-pid1--sh.yaml') })
    expect(run.code).toBe(1)
    expect(json(run.stdout).findings.map((f) => [f.file, f.code, f.line])).toEqual([['<stdin>', code, line]])
  })

  it('--ignore leaves a code out (full or short), --container picks the service’s containers', async () => {
    expect((await doctor(['--plan', 'plan.json', '--ignore', 'PDB_MISSING', 'bad/pdb-missing.yaml'])).code).toBe(0)
    const full = await doctor(['--json', '--ignore', 'LAMEDUCK_DOCTOR_PDB_MISSING', 'bad/pdb-missing.yaml'])
    expect(full.code).toBe(0)
    expect(json(full.stdout).notChecked).toContain('LAMEDUCK_DOCTOR_PDB_MISSING')
    // The log shipper beside the service has no preStop hook: named, it is checked.
    const shipper = await doctor(['--json', '--plan', 'plan.json', '--container', 'log-shipper', 'clean.yaml'])
    expect(json(shipper.stdout).findings.map((f) => [f.code, f.container])).toEqual([
      ['LAMEDUCK_DOCTOR_PRESTOP_MISSING', 'log-shipper'],
    ])
  })

  it('--help lists the flags and every finding code', async () => {
    const run = await doctor(['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(DOCTOR_HELP)
    for (const code of DOCTOR_FINDING_CODES) expect(run.stdout).toContain(code)
    for (const flag of ['--plan', '--container', '--ignore', '--json', '--help']) expect(run.stdout).toContain(flag)
  })
})

describe('lameduck-doctor on bad input: exit 2 with a clear message', () => {
  const refused = async (args: string[], message: RegExp, options: { input?: string; cwd?: string } = {}) => {
    const run = await doctor(args, options)
    expect(run.code, run.stdout + run.stderr).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^lameduck-doctor: /)
    expect(run.stderr).toMatch(message)
    return run.stderr
  }

  it('a file or folder that cannot be read, or holds no YAML', async () => {
    await refused(
      ['missing.yaml'],
      /cannot read missing\.yaml: no such file or folder \[LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT\]/,
    )
    const empty = tempDir()
    writeFileSync(join(empty, 'notes.txt'), 'not yaml\n')
    await refused([empty], /no \.yaml or \.yml file in the folder .* \[LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT\]/)
    await refused(
      ['--plan', 'nope.json', 'clean.yaml'],
      /cannot read the plan file nope\.json.*\[LAMEDUCK_ERR_DOCTOR_UNREADABLE_INPUT\]/,
    )
  })

  it('invalid YAML, with the file and line; an unrendered Helm template is named', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n')
    await refused(
      [join(dir, 'broken.yaml')],
      /broken\.yaml:\d+:\d+: invalid YAML: .*\[LAMEDUCK_ERR_DOCTOR_INVALID_YAML\]/,
    )
    const helm = await refused(
      ['-'],
      /<stdin>:\d+:\d+: invalid YAML: .*Helm template.*\[LAMEDUCK_ERR_DOCTOR_INVALID_YAML\]/,
      {
        input:
          'kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels: {{- include "labels" . | nindent 4 }}\n',
      },
    )
    expect(helm).toContain('helm template')
  })

  it('a manifest Kubernetes would refuse where a check reads it', async () => {
    await refused(
      ['-'],
      /<stdin>:6: spec\.containers of Pod\/web must be a list; got "app" \[LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST\]/,
      { input: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: app\n' },
    )
    await refused(['-'], /document 1 has no kind \[LAMEDUCK_ERR_DOCTOR_INVALID_MANIFEST\]/, { input: 'metadata: {}\n' })
  })

  it('no workload: empty input (a failed helm template), only Services, or no container by the --container name', async () => {
    await refused(
      ['-'],
      /no Deployment, StatefulSet, DaemonSet or Pod in <stdin> \(it is empty\) \[LAMEDUCK_ERR_DOCTOR_NO_WORKLOADS\]/,
    )
    await refused(['-'], /\(found Service\)/, { input: 'apiVersion: v1\nkind: Service\nmetadata: { name: web }\n' })
    await refused(
      ['--container', 'api', 'clean.yaml'],
      /no workload has a container named api; the containers are app, log-shipper \[LAMEDUCK_ERR_DOCTOR_NO_WORKLOADS\]/,
    )
  })

  it('wrong flags: unknown (with the one meant), missing input, an unknown --ignore code', async () => {
    const stderr = await refused(
      ['--plna', 'plan.json', 'clean.yaml'],
      /"--plna".*did you mean "--plan"\?.*\[LAMEDUCK_ERR_UNKNOWN_OPTION\]/,
    )
    expect(stderr).toContain('Run lameduck-doctor --help for usage.')
    await refused([], /missing the manifests: a file, a folder, or - for stdin/)
    await refused(['--plan'], /--plan/)
    await refused(
      ['--ignore', 'PDB_MISING', 'clean.yaml'],
      /did you mean "LAMEDUCK_DOCTOR_PDB_MISSING"\?.*\[LAMEDUCK_ERR_UNKNOWN_OPTION\]/,
    )
  })

  it('a plan file that is not what writeDoctorPlan writes: the key and what is wrong with it', async () => {
    const dir = tempDir()
    const good = JSON.parse(read('plan.json'))
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', '{ plan: ', /not JSON/],
      [
        'an unknown key',
        { ...good, plans: {} },
        /plans is not a key of the plan file \(did you mean plan\?\); known: plan, http/,
      ],
      [
        'a typo',
        { ...good, plan: { ...good.plan, drainDelay: undefined, drainDelayMS: 5000 } },
        /plan\.drainDelayMS is not a key of plan \(did you mean drainDelayMs\?\)/,
      ],
      ['a missing key', { ...good, http: { shutdownPath: '/shutdown' } }, /http\.port is missing/],
      [
        'a port out of range',
        { ...good, http: { port: 70000 } },
        /http\.port must be a port number \(1–65535\); got 70000/,
      ],
      [
        'a path without /',
        { ...good, http: { port: 3000, readyPath: 'readyz' } },
        /http\.readyPath must be a path starting with \//,
      ],
      [
        'a string for ms',
        { ...good, plan: { ...good.plan, safetyMarginMs: '1s' } },
        /plan\.safetyMarginMs must be a number of ms ≥ 0; got "1s"/,
      ],
      [
        'phases out of order',
        { ...good, plan: { ...good.plan, phases: [...good.plan.phases].reverse() } },
        /plan\.phases\[0\]\.phase must be "readiness"/,
      ],
      [
        'a phase missing',
        { ...good, plan: { ...good.plan, phases: good.plan.phases.slice(0, 5) } },
        /must list the 6 phases/,
      ],
      [
        'a wrong sum',
        { ...good, plan: { ...good.plan, totalMs: 21000 } },
        /plan\.totalMs is 21000 but the phases' reservedMs add up to 22000/,
      ],
      [
        'an adaptive delay whose max is not drainDelayMs',
        { ...good, plan: { ...good.plan, drainDelay: { minMs: 1000, maxMs: 4000, quietMs: 500 } } },
        /plan\.drainDelayMs must be the adaptive delay's maxMs \(4000\); got 5000/,
      ],
      [
        'min above max',
        { ...good, plan: { ...good.plan, drainDelay: { minMs: 6000, maxMs: 5000, quietMs: 500 } } },
        /plan\.drainDelay\.minMs \(6000\) is more than maxMs \(5000\)/,
      ],
    ]
    for (const [what, value, message] of cases) {
      const file = join(dir, `${what.replace(/\W+/g, '-')}.json`)
      writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
      const stderr = await refused(['--plan', file, 'clean.yaml'], message)
      expect(stderr, what).toMatch(/\[LAMEDUCK_ERR_DOCTOR_INVALID_PLAN\]\n$/)
      expect(stderr, what).toContain(file)
    }
  })
})

describe('writeDoctorPlan: the plan from the coordinator, without a server', () => {
  const shutdown = () => {
    const s = createShutdown({ gracePeriodMs: 30_000, drainDelayMs: 5000, signals: [], exit: false, logger: false })
    s.addTask({ name: 'drain', phase: 'drain', timeoutMs: 10_000, run() {} })
    s.addTask({ name: 'flush', phase: 'flush', timeoutMs: 3000, run() {} })
    s.addTask({ name: 'release', phase: 'release', timeoutMs: 1000, run() {} })
    s.addTask({ name: 'close', phase: 'close', timeoutMs: 2000, run() {} })
    s.addTask({ name: 'report', phase: 'report', timeoutMs: 1000, run() {} })
    return s
  }

  it('writes what the doctor reads: the same plan as the fixtures’, and the doctor passes the clean manifest with it', async () => {
    const s = shutdown()
    const file = join(tempDir(), 'lameduck-plan.json')
    const written = await writeDoctorPlan(file, s, { port: 3000 })
    s.uninstall()
    expect(written).toEqual(parseDoctorPlan(JSON.parse(read('plan.json'))))
    expect(await readDoctorPlan(file)).toEqual(written)
    const run = await doctor(['--plan', file, 'clean.yaml'])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    // The same findings as with the fixtures' plan.
    const short = await doctor(['--json', '--plan', file, 'bad/grace-too-short.yaml'])
    expect(json(short.stdout).findings.map((f) => f.code)).toEqual(['LAMEDUCK_DOCTOR_GRACE_TOO_SHORT'])
  })

  it('an adaptive drain delay: the file names it, grace counted at maxMs; core’s plan() as is reads too', async () => {
    const s = createShutdown({
      gracePeriodMs: 35_000,
      drainDelayMs: { minMs: 2000, maxMs: 15_000, quietMs: 1000 },
      signals: [],
      exit: false,
      logger: false,
    })
    s.addTask({ name: 'drain', phase: 'drain', timeoutMs: 10_000, run() {} })
    const plan = doctorPlan(s, { port: 3000 })
    expect(plan.plan.drainDelay).toEqual({ minMs: 2000, maxMs: 15_000, quietMs: 1000 })
    expect(plan.plan.drainDelayMs).toBe(15_000)
    // JSON.stringify(shutdown.plan()) — core's shape, with `mode` — is a plan file too, fixed or adaptive.
    expect(parseDoctorPlan({ plan: JSON.parse(JSON.stringify(s.plan())), http: { port: 3000 } })).toEqual(plan)
    const fixed = shutdown()
    expect(
      parseDoctorPlan({ plan: JSON.parse(JSON.stringify(fixed.plan())), http: { port: 3000 } }).plan.drainDelay,
    ).toBe(undefined)
    s.uninstall()
    fixed.uninstall()
  })

  it('refuses wrong arguments with core’s codes, at the call', () => {
    const s = shutdown()
    expect(() => doctorPlan(s, { port: 0 })).toThrow(expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }))
    expect(() => doctorPlan(s, { port: 3000, shutdownpath: '/x' } as never)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_ERR_UNKNOWN_OPTION',
        message: expect.stringContaining('shutdownPath'),
      }),
    )
    expect(() => doctorPlan(s, { port: 3000, readyPath: 'readyz' })).toThrow(/expected a path starting with \//)
    expect(() => doctorPlan(s, { port: 3000, https: 'yes' } as never)).toThrow(/true or false/)
    expect(() => doctorPlan({} as never, { port: 3000 })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    expect(() => doctorPlan(s, undefined as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    s.uninstall()
  })

  it('keeps an adaptive drain delay, and the doctor holds the readiness probe against its minMs', () => {
    const s = shutdown()
    const base = doctorPlan(s, { port: 3000 })
    s.uninstall()
    // What core's plan() gives once the delay is adaptive: drainDelayMs is the max, drainDelay the whole.
    const adaptive = parseDoctorPlan({
      ...base,
      plan: {
        ...base.plan,
        drainDelayMs: 15_000,
        drainDelay: { minMs: 2000, maxMs: 15_000, quietMs: 1000 },
        phases: base.plan.phases.map((p) => (p.phase === 'readiness' ? { ...p, reservedMs: 15_000 } : p)),
        totalMs: base.plan.totalMs + 10_000,
      },
    })
    const result = checkManifests([{ file: 'x.yaml', text: read('bad/readiness-slower-than-drain--adaptive.yaml') }], {
      plan: adaptive,
    })
    expect(result.findings.map((f) => f.code)).toEqual(['LAMEDUCK_DOCTOR_READINESS_SLOWER_THAN_DRAIN'])
    expect(result.findings[0]?.message).toContain("the adaptive drain delay's minMs (2 s)")
  })
})

describe('checkManifests, the library under the bin', () => {
  it('reads a List (kubectl get -o yaml) item by item, with the lines of the items', () => {
    const item = read('bad/token-in-spec--env.yaml').replace(/^#.*\n/gm, '')
    const indented = item
      .split('\n')
      .map((l) => (l ? `    ${l}` : l))
      .join('\n')
      .replace(/^ {4}/, '  - ')
    const text = `apiVersion: v1\nkind: List\nitems:\n${indented}`
    const result = checkManifests([{ file: 'list.yaml', text }], {
      plan: parseDoctorPlan(JSON.parse(read('plan.json'))),
    })
    const line = text.split('\n').findIndex((l) => l.includes('# ←')) + 1
    expect(result.findings.map((f) => [f.code, f.line])).toEqual([['LAMEDUCK_DOCTOR_TOKEN_IN_SPEC', line]])
  })

  it('refuses wrong options with core’s codes', () => {
    const sources = [{ file: 'clean.yaml', text: read('clean.yaml') }]
    expect(() => checkManifests(sources, { plans: {} } as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_UNKNOWN_OPTION', message: expect.stringContaining('plan') }),
    )
    expect(() => checkManifests(sources, { containers: 'app' } as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_INVALID_OPTION' }),
    )
    expect(() => checkManifests(sources, { plan: { plan: {} } } as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ERR_DOCTOR_INVALID_PLAN' }),
    )
  })

  it('a folder’s files in order, below hidden folders and node_modules left out', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'b'))
    mkdirSync(join(dir, '.git'))
    mkdirSync(join(dir, 'node_modules'))
    writeFileSync(join(dir, 'b', 'z.yml'), read('bad/node-not-pid1.yaml'))
    writeFileSync(join(dir, 'a.yaml'), read('bad/prestop-missing.yaml'))
    writeFileSync(join(dir, '.git', 'x.yaml'), read('bad/node-not-pid1--sh.yaml'))
    writeFileSync(join(dir, 'node_modules', 'x.yaml'), read('bad/node-not-pid1--sh.yaml'))
    const run = await doctor(['--json', '.'], { cwd: dir })
    expect(json(run.stdout).findings.map((f) => [f.file, f.code])).toEqual([
      ['a.yaml', 'LAMEDUCK_DOCTOR_PRESTOP_MISSING'],
      [join('b', 'z.yml'), 'LAMEDUCK_DOCTOR_NODE_NOT_PID1'],
    ])
  })
})
