import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULTS, type Phase } from '@lameduck/core'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { testShutdown } from '../../../test/support/shutdown.js'
import { config, drainDelayMaxMs, requiredGraceMs } from '../config.mjs'

const load = (file: string) => parse(readFileSync(new URL(`../k8s/${file}`, import.meta.url), 'utf8'))
const deployment = load('deployment.yaml')
const service = load('service.yaml')
const pdb = load('pdb.yaml')
const pod = deployment.spec.template.spec
const container = pod.containers[0]
const env = Object.fromEntries(
  container.env
    .filter((e: { value?: string }) => e.value !== undefined)
    .map((e: { name: string; value: string }) => [e.name, e.value]),
)
const portNamed = (name: string) => container.ports.find((p: { name: string }) => p.name === name)?.containerPort

// The drain delay the pod is given: adaptive, from its three variables (DRAIN_DELAY_MS would make it fixed).
const podDelay = {
  minMs: Number(env.DRAIN_DELAY_MIN_MS),
  maxMs: Number(env.DRAIN_DELAY_MAX_MS),
  quietMs: Number(env.DRAIN_DELAY_QUIET_MS),
}
const configured = { ...config, drainDelayMs: podDelay }

describe('k8s manifests agree with the service configuration', () => {
  it('the pod runs the adaptive drain delay of config.mjs', () => {
    expect(env.DRAIN_DELAY_MS).toBeUndefined()
    expect(podDelay).toEqual(config.drainDelayMs)
  })

  it('the grace period covers the drain delay at its longest, every phase budget and the margin', () => {
    expect(drainDelayMaxMs(configured)).toBe(podDelay.maxMs)
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(requiredGraceMs(configured))
    expect(Number(env.TERMINATION_GRACE_PERIOD_SECONDS)).toBe(pod.terminationGracePeriodSeconds)
  })

  it('the coordinator itself agrees: with these budgets and this grace period, its plan fits', () => {
    const shutdown = testShutdown({
      gracePeriodMs: pod.terminationGracePeriodSeconds * 1000,
      drainDelayMs: podDelay,
      safetyMarginMs: config.safetyMarginMs,
    })
    for (const [phase, timeoutMs] of Object.entries(config.budgets))
      shutdown.addTask({ name: phase, phase: phase as Phase, timeoutMs, run: () => {} })
    const plan = shutdown.plan()
    expect(plan.fits).toBe(true)
    // config.mjs's formula is the coordinator's: reservations + margin + the exit reserve.
    expect(requiredGraceMs(configured)).toBe(plan.totalMs + plan.safetyMarginMs + DEFAULTS.exitReserveMs)
    expect(plan.availableMs).toBeGreaterThanOrEqual(plan.totalMs)
    shutdown.uninstall()
  })

  it('preStop runs lameduck-prestop in the container: /shutdown on the application port, the token from the Secret', () => {
    expect(container.lifecycle.preStop.httpGet).toBeUndefined()
    const [node, bin, ...args] = container.lifecycle.preStop.exec.command as string[]
    expect(node).toBe('node')
    // The installed package's bin, under the image's working directory.
    expect(bin).toBe(`${container.workingDir}/node_modules/@lameduck/http/bin/lameduck-prestop.js`)
    expect(existsSync(new URL('../../../packages/http/bin/lameduck-prestop.js', import.meta.url))).toBe(true)
    const flag = (name: string) => args[args.indexOf(name) + 1]
    expect(Number(flag('--port'))).toBe(config.port)
    expect(flag('--path')).toBe(config.paths.shutdown)
    // No token in the pod spec: the hook reads the variable the service reads, from the Secret.
    expect(JSON.stringify(container.lifecycle)).not.toMatch(/Bearer|token/i)
    const tokenVar = container.env.find((e: { name: string }) => e.name === 'LAMEDUCK_SHUTDOWN_TOKEN')
    expect(tokenVar?.valueFrom?.secretKeyRef).toBeTruthy()
  })

  it('probes hit the service paths and port; ports match the environment', () => {
    expect(container.readinessProbe.httpGet.path).toBe(config.paths.readiness)
    expect(container.livenessProbe.httpGet.path).toBe(config.paths.liveness)
    expect(portNamed(container.readinessProbe.httpGet.port)).toBe(config.port)
    expect(portNamed(container.livenessProbe.httpGet.port)).toBe(config.port)
    expect(Number(env.PORT)).toBe(config.port)
    expect(Number(env.ADMIN_PORT)).toBe(config.adminPort)
    expect(portNamed('admin')).toBe(config.adminPort)
  })

  it('the Service and the PodDisruptionBudget select the Deployment’s pods', () => {
    const labels = deployment.spec.template.metadata.labels
    expect(service.spec.selector).toEqual(labels)
    expect(pdb.spec.selector.matchLabels).toEqual(labels)
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http'])
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas)
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0)
  })
})

describe('lameduck-doctor passes the manifests', () => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const doctor = fileURLToPath(new URL('../../../packages/testkit/bin/lameduck-doctor.js', import.meta.url))
  const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' })

  it('against the plan doctor-plan.mjs writes from config.mjs, and without a plan', () => {
    const dir = mkdtempSync(join(tmpdir(), 'express-service-plan-'))
    try {
      const plan = join(dir, 'lameduck-plan.json')
      const written = run(['doctor-plan.mjs', plan])
      expect(written.status, written.stderr).toBe(0)
      expect(JSON.parse(readFileSync(plan, 'utf8')).plan.drainDelay).toEqual(config.drainDelayMs)
      for (const args of [['--plan', plan, 'k8s'], ['k8s']]) {
        const checked = run([doctor, ...args])
        expect(checked.status, checked.stdout + checked.stderr).toBe(0)
        expect(checked.stdout).toMatch(/^no finding: 1 workload checked \(Deployment\/express-service\)$/m)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
