// The doctor's rules one by one, in process, for the cases the fixtures do not each spell out.
import { describe, expect, it } from 'vitest'
import { checkManifests } from '../src/doctor.js'
import { goDurationMs, graceNeededSeconds, pid1Problem, selects } from '../src/doctor-checks.js'
import { parseDoctorPlan } from '../src/doctor-plan.js'

const plan = (totalMs: number, safetyMarginMs = 1000) =>
  parseDoctorPlan({
    plan: {
      gracePeriodMs: 30_000,
      safetyMarginMs,
      drainDelayMs: 0,
      availableMs: 0,
      phases: ['readiness', 'drain', 'flush', 'release', 'close', 'report'].map((phase, i) => ({
        phase,
        reservedMs: i === 1 ? totalMs : 0,
      })),
      totalMs,
      fits: true,
    },
    http: { port: 3000 },
  })

describe('NODE_NOT_PID1', () => {
  it('lets node through, alone, behind an init or env, or exec’d by a shell', () => {
    for (const argv of [
      ['node', 'server.mjs'],
      ['/usr/local/bin/node', '--enable-source-maps', 'dist/main.js'],
      ['tini', '--', 'node', 'server.js'],
      ['dumb-init', 'node', 'server.js'],
      ['env', 'NODE_ENV=production', 'node', 'server.js'],
      ['sh', '-c', 'exec node server.js'],
      ['/bin/bash', '-ec', 'cd /app && exec node server.js'],
      ['sh', '-c', 'shipper --follow /var/log'],
      ['sh', 'start.sh'],
      [],
    ])
      expect(pid1Problem(argv), argv.join(' ')).toBeUndefined()
  })

  it('finds package managers in front, and shells that keep PID 1', () => {
    for (const argv of [
      ['npm', 'start'],
      ['npm', 'run', 'start:prod'],
      ['/usr/bin/yarn', 'start'],
      ['npx', 'ts-node', 'server.ts'],
      ['pnpm', 'start'],
      ['dumb-init', 'npm', 'start'],
      ['sh', '-c', 'node server.js'],
      ['sh', '-c', 'exec npm start'],
      ['bash', '-lc', 'NODE_ENV=production npm run serve'],
      ['sh', '-c', 'node server.js & wait'],
    ])
      expect(pid1Problem(argv), argv.join(' ')).toMatch(/PID 1|shell|reaches/)
  })
})

describe('the numbers', () => {
  it('the grace period needed is the one core’s plan fits in: reservations + margin + the exit reserve', () => {
    // 22 s + 1 s + 0.1 s does not fit 23 s; 24 s it does.
    expect(graceNeededSeconds(plan(22_000))).toBe(24)
    expect(graceNeededSeconds(plan(21_900))).toBe(23)
    // Short plans: the exit reserve is a tenth of grace − margin, not 100 ms.
    expect(graceNeededSeconds(plan(500, 0))).toBe(1)
    expect(graceNeededSeconds(plan(0, 0))).toBe(1)
  })

  it('Go durations, as meshes write them', () => {
    expect(goDurationMs('5s')).toBe(5000)
    expect(goDurationMs('1m30s')).toBe(90_000)
    expect(goDurationMs('1.5s')).toBe(1500)
    expect(goDurationMs('250ms')).toBe(250)
    expect(goDurationMs('1h')).toBe(3_600_000)
    for (const bad of ['5', 's', '5 s', '-5s', ''] as const) expect(goDurationMs(bad), bad).toBeUndefined()
  })

  it('label selectors as Kubernetes matches them', () => {
    const labels = { app: 'web', tier: 'front' }
    expect(selects({}, labels)).toBe(true)
    expect(selects(null, labels)).toBe(false)
    expect(selects({ matchLabels: { app: 'web' } }, labels)).toBe(true)
    expect(selects({ matchLabels: { app: 'web', tier: 'back' } }, labels)).toBe(false)
    expect(selects({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, labels)).toBe(true)
    expect(selects({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels)).toBe(false)
    expect(selects({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true)
    expect(selects({ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, labels)).toBe(true)
  })
})

describe('preStop exec hooks', () => {
  const pod = (command: string[]) => `apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  containers:
    - name: app
      command: ["node", "server.mjs"]
      ports: [{ containerPort: 3000 }]
      lifecycle: { preStop: { exec: { command: ${JSON.stringify(command)} } } }
`
  const codes = (command: string[]) =>
    checkManifests([{ file: 'pod.yaml', text: pod(command) }], { plan: plan(1000) }).findings.map((f) => f.code)

  it('lameduck’s own hook, or a call of the shutdown endpoint, is right', () => {
    expect(codes(['lameduck-prestop', '--port', '3000'])).toEqual([])
    expect(codes(['node', '/app/node_modules/@lameduck/http/bin/lameduck-prestop.js', '--port=3000'])).toEqual([])
    expect(codes(['/app/node_modules/.bin/lameduck-prestop', '--port', '3000', '--timeout', '20s'])).toEqual([])
    expect(codes(['lameduck-prestop', '--socket', '/run/lameduck.sock'])).toEqual([])
    expect(codes(['curl', '-fsS', 'http://127.0.0.1:3000/shutdown'])).toEqual([])
    expect(
      codes(['sh', '-c', 'curl -fsS -H "Authorization: Bearer $LAMEDUCK_SHUTDOWN_TOKEN" localhost:3000/shutdown']),
    ).toEqual([])
  })

  it('lameduck-prestop at another port or path, without a port, or its module run instead of its bin is not', () => {
    const wrong = ['LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET']
    expect(codes(['lameduck-prestop', '--port', '9090'])).toEqual(wrong)
    expect(codes(['lameduck-prestop', '--port', '3000', '--path', '/stop'])).toEqual(wrong)
    expect(codes(['lameduck-prestop', '--port', '3000', '--https'])).toEqual(wrong)
    expect(codes(['lameduck-prestop'])).toEqual(wrong) // no --port, and no PORT in the container's env
    expect(codes(['node', 'node_modules/@lameduck/http/dist/esm/prestop.js'])).toEqual(wrong)
  })

  it('another port, another path, or nothing called is not', () => {
    expect(codes(['curl', 'http://127.0.0.1:9090/shutdown'])).toEqual(['LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET'])
    expect(codes(['wget', '-qO-', 'localhost:3000/stop'])).toEqual(['LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET'])
    expect(codes(['sleep', '10'])).toEqual(['LAMEDUCK_DOCTOR_PRESTOP_WRONG_TARGET'])
  })
})
