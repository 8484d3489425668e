// A real service process (fixtures/service.mjs: the built packages, the SDK's own BatchSpanProcessor and
// OTLP/HTTP JSON exporters) sent a real SIGTERM, against a real OTLP receiver on loopback. Every span of the
// run — the run, its six phases, every task of every phase — must have arrived, with the right parents and
// attributes, before the process is gone; and a collector that hangs, or is down, must cost the flush's budget
// and no more: the process still exits, the flush task reported as timed out or failed.
import { fileURLToPath } from 'node:url'
import { PHASES, type ShutdownReport } from '@lameduck/core'
import { OTEL_CONVENTIONS, OTEL_DEFAULTS } from '@lameduck/otel'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningChild, spawnChild } from '../../../test/support/child.js'
import { loggedReport, taskReport } from '../../../test/support/shutdown.js'
import { attributesOf, type OtlpSpan, type Receiver, startReceiver } from './receiver.js'

const fixture = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url))
const { spans: SPANS, attributes: A, metrics: M } = OTEL_CONVENTIONS
/** The fixture's tasks, by phase (besides the flush). */
const TASKS = {
  drain: ['stop-server', 'stop-consumer'],
  flush: ['flush-cache'],
  release: ['release-lock'],
  close: ['close-pool'],
  report: ['push-metrics'],
} as const

const children: RunningChild[] = []
const receivers: Receiver[] = []
afterEach(async () => {
  for (const child of children.splice(0)) child.dispose()
  for (const receiver of receivers.splice(0)) await receiver.close()
})

async function runService(url: string, env: Record<string, string> = {}) {
  const child = spawnChild(process.execPath, [fixture], { env: { OTLP_URL: url, ...env } })
  children.push(child)
  await child.waitFor('ready', 15_000)
  child.mark()
  child.child.kill('SIGTERM')
  const exit = await child.exited
  const report = loggedReport<ShutdownReport>(child.stderr)
  const log = `stdout:\n${child.stdout.join('\n')}\nstderr:\n${child.stderr.join('\n')}`
  return { exit, report, log }
}

const nanos = (span: OtlpSpan, which: 'start' | 'end') =>
  BigInt(which === 'start' ? span.startTimeUnixNano : span.endTimeUnixNano)

describe('a real SIGTERM, a real OTLP receiver', () => {
  it('every span of the run arrives before the process exits: run → phases → tasks, with their attributes', async () => {
    const receiver = await startReceiver()
    receivers.push(receiver)
    const { exit, report, log } = await runService(receiver.url)
    expect(exit.code, log).toBe(0)
    expect(report, log).toBeDefined()
    expect(taskReport(report as ShutdownReport, OTEL_DEFAULTS.name), log).toMatchObject({ outcome: 'ok' })

    const spans = receiver.spans()
    const runs = spans.filter((s) => s.name === SPANS.run)
    expect(runs, log).toHaveLength(1)
    const run = runs[0] as OtlpSpan
    expect(run.parentSpanId ?? '').toBe('')
    expect(attributesOf(run)).toMatchObject({
      [A.trigger]: 'signal',
      [A.reason]: 'SIGTERM',
      [A.gracePeriodMs]: 15_000,
      [A.deadline]: (report as ShutdownReport).deadline,
      [A.exitCode]: 0,
      [A.outcome]: 'ok',
    })

    // One span per phase, children of the run, in the same trace.
    const phases = new Map<string, OtlpSpan>()
    for (const phase of PHASES) {
      const found = spans.filter((s) => s.name === `${SPANS.phase} ${phase}`)
      expect(found, phase).toHaveLength(1)
      const span = found[0] as OtlpSpan
      expect(span.traceId).toBe(run.traceId)
      expect(span.parentSpanId).toBe(run.spanId)
      expect(attributesOf(span)[A.phase]).toBe(phase)
      expect(nanos(span, 'start')).toBeGreaterThanOrEqual(nanos(run, 'start'))
      expect(nanos(span, 'end')).toBeLessThanOrEqual(nanos(run, 'end'))
      phases.set(phase, span)
    }
    expect(attributesOf(phases.get('drain') as OtlpSpan)).toMatchObject({ [A.phaseTasks]: 2, [A.phaseOutcome]: 'ok' })
    // The report phase's tasks: push-metrics and the flush itself.
    expect(attributesOf(phases.get('report') as OtlpSpan)[A.phaseTasks]).toBe(2)

    // One span per task, children of their phase's span; the flush task has none (it exports the trace).
    const taskSpans = spans.filter((s) => s.name.startsWith(`${SPANS.task} `))
    expect(taskSpans.map((s) => s.name).sort()).toEqual(
      Object.values(TASKS)
        .flat()
        .map((t) => `${SPANS.task} ${t}`)
        .sort(),
    )
    for (const [phase, names] of Object.entries(TASKS))
      for (const name of names) {
        const span = taskSpans.find((s) => s.name === `${SPANS.task} ${name}`) as OtlpSpan
        expect(span.parentSpanId, name).toBe(phases.get(phase)?.spanId)
        const entry = taskReport(report as ShutdownReport, name)
        expect(attributesOf(span), name).toMatchObject({
          [A.taskName]: name,
          [A.taskPhase]: phase,
          [A.taskOutcome]: entry.outcome,
          [A.taskBudgetMs]: entry.budgetMs,
          [A.taskDurationMs]: entry.durationMs,
          [A.taskCritical]: entry.critical,
        })
      }
    const ok = taskSpans.find((s) => s.name === `${SPANS.task} close-pool`) as OtlpSpan
    expect(ok.status?.code ?? 0).not.toBe(2)
    // The failed task: the error recorded as an exception event, status ERROR.
    const failed = taskSpans.find((s) => s.name === `${SPANS.task} flush-cache`) as OtlpSpan
    expect(attributesOf(failed)[A.taskOutcome]).toBe('error')
    expect(failed.status).toMatchObject({ code: 2, message: expect.stringContaining('sink refused the batch') })
    const exception = failed.events?.find((e) => e.name === 'exception')
    expect(exception && attributesOf(exception)['exception.message']).toContain('sink refused the batch')
    // The task that timed out: the same, with the timeout.
    const timedOut = taskSpans.find((s) => s.name === `${SPANS.task} release-lock`) as OtlpSpan
    expect(attributesOf(timedOut)[A.taskOutcome]).toBe('timeout')
    expect(timedOut.status?.code).toBe(2)
    expect(timedOut.events?.some((e) => e.name === 'exception')).toBe(true)
    expect(attributesOf(phases.get('release') as OtlpSpan)[A.phaseOutcome]).toBe('timeout')

    // The metrics, exported by the same flush.
    expect(new Set(receiver.metricNames())).toEqual(new Set(Object.values(M)))
  })

  it('a collector that hangs: the flush times out at its budget, and the process still exits', async () => {
    const receiver = await startReceiver({ mode: 'hang' })
    receivers.push(receiver)
    const { exit, report, log } = await runService(receiver.url, { FLUSH_TIMEOUT_MS: '800' })
    // Not critical: the exit code is the service's own (every critical task succeeded).
    expect(exit.code, log).toBe(0)
    expect(receiver.requests, log).toBeGreaterThan(0)
    const flush = taskReport(report as ShutdownReport, OTEL_DEFAULTS.name)
    expect(flush, log).toMatchObject({ outcome: 'timeout', budgetMs: 800, critical: false })
    // The fixture's tasks take ~300 ms (the release-lock timeout dominates), the flush 800 ms at most: the
    // whole run is a small fraction of the 15 s grace period — the exporter's 10 s timeout never mattered.
    expect(exit.elapsedMs, log).toBeLessThan(5_000)
  })

  it('a collector that is down: the flush fails or times out within its budget, and the process still exits', async () => {
    const receiver = await startReceiver()
    const { url } = receiver
    await receiver.close()
    const { exit, report, log } = await runService(url, { FLUSH_TIMEOUT_MS: '800' })
    expect(exit.code, log).toBe(0)
    const flush = taskReport(report as ShutdownReport, OTEL_DEFAULTS.name)
    expect(['error', 'timeout'], log).toContain(flush.outcome)
    expect(flush.durationMs, log).toBeLessThanOrEqual(800 + 100)
    expect(exit.elapsedMs, log).toBeLessThan(5_000)
  })

  // The README's warning, shown: a preloaded hook that shuts the SDK down at SIGTERM (as
  // auto-instrumentations-node/register does) races the drain, and every span that ends after it is dropped —
  // the application's spans buffered before the signal arrive, lameduck's do not. Its workaround brings them back.
  it("a register hook's own SIGTERM handler loses the run's spans; with its listener removed, they arrive", async () => {
    const spansWith = async (hook: string) => {
      const receiver = await startReceiver()
      receivers.push(receiver)
      const { exit, log } = await runService(receiver.url, { REGISTER_HOOK: hook, APP_SPANS: '20' })
      expect(exit.code, log).toBe(0)
      return receiver.spans().map((s) => s.name)
    }
    const raced = await spansWith('installed')
    expect(raced.filter((name) => name === 'app work')).toHaveLength(20)
    expect(raced.filter((name) => name.startsWith('lameduck '))).toEqual([])
    const fixed = await spansWith('removed')
    expect(fixed.filter((name) => name === 'app work')).toHaveLength(20)
    expect(fixed).toContain(SPANS.run)
    expect(fixed.filter((name) => name.startsWith(`${SPANS.phase} `))).toHaveLength(PHASES.length)
  })
})
