// `node doctor-plan.mjs [file]`: writes the service's shutdown plan for `lameduck-doctor --plan` — the
// coordinator with the options and the task budgets of config.mjs (the numbers server.mjs runs with),
// without starting a server or connecting to a store.
import { createShutdown } from '@lameduck/core'
import { writeDoctorPlan } from '@lameduck/testkit'
import { config } from './config.mjs'

const file = process.argv[2] ?? 'lameduck-plan.json'
const shutdown = createShutdown({
  drainDelayMs: config.drainDelayMs,
  safetyMarginMs: config.safetyMarginMs,
  gracePeriodMs: Number(process.env.TERMINATION_GRACE_PERIOD_SECONDS ?? 35) * 1000,
  signals: [],
  exit: false,
  logger: false,
})
for (const [phase, timeoutMs] of Object.entries(config.budgets))
  shutdown.addTask({ name: `${phase}-budget`, phase, timeoutMs, run() {} })
await writeDoctorPlan(file, shutdown, { port: config.port, ...pathsOf(config.paths) })
shutdown.uninstall()
console.log(`wrote ${file}`)

function pathsOf(paths) {
  return { shutdownPath: paths.shutdown, readyPath: paths.readiness, livePath: paths.liveness }
}
