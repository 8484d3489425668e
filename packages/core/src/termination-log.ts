import { accessSync, constants, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { DEFAULTS } from './defaults.js'
import { errorMessage, InvalidOptionError } from './errors.js'
import type { Logger } from './logger.js'
import type { ShutdownReport, TaskReport } from './report.js'

// Kubernetes mounts /dev/termination-log in every container and shows what the container wrote there (at
// most 4 KiB) in `kubectl describe pod` and `status.containerStatuses[].lastState.terminated.message`: the
// one report of a shutdown that outlives the pod, where the preStop response body is discarded by the
// kubelet and the logs may be gone with the node.

/**
 * The `terminationLog` option resolved: the file to write, or `undefined` for none. The default is
 * {@link DEFAULTS}`.terminationLogPath` when it exists and is writable (it is, in a Kubernetes container).
 */
export function resolveTerminationLog(value: unknown): string | undefined {
  if (value === false) return undefined
  if (value === undefined) return writable(DEFAULTS.terminationLogPath) ? DEFAULTS.terminationLogPath : undefined
  if (typeof value !== 'string' || value.trim() === '')
    throw new InvalidOptionError('terminationLog', 'expected a file path, or false to write none')
  let stats: ReturnType<typeof statSync> | undefined
  try {
    stats = statSync(value)
  } catch {
    // Not there yet: its folder must be.
  }
  if (stats?.isDirectory()) throw new InvalidOptionError('terminationLog', `${value} is a directory, not a file`)
  if (stats === undefined) {
    const folder = dirname(value)
    let isFolder = false
    try {
      isFolder = statSync(folder).isDirectory()
    } catch {
      isFolder = false
    }
    if (!isFolder) throw new InvalidOptionError('terminationLog', `the folder of ${value} (${folder}) does not exist`)
  }
  return value
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

function taskLine(task: TaskReport): string {
  const what = task.outcome === 'error' ? 'failed' : task.outcome === 'timeout' ? 'timed out' : 'skipped'
  const code = task.code ? ` ${task.code}` : ''
  const error = task.error ? `: ${task.error.replace(/\s+/g, ' ').slice(0, 200)}` : ''
  return `${what} ${task.name} [${task.phase}${task.critical ? '' : ', not critical'}]${code}${error}`
}

/** What a run leaves in the termination log: a few lines, the worst first, at most `maxBytes`. */
export function terminationSummary(
  input: { report: ShutdownReport; exitCode: number } | { exitCode: number; watchdog: string; running: string[] },
  maxBytes: number = DEFAULTS.terminationLogMaxBytes,
): string {
  const lines: string[] = []
  if ('watchdog' in input) {
    lines.push(`lameduck: exit ${input.exitCode}, ${input.watchdog}`)
    if (input.running.length > 0) lines.push(`still running: ${input.running.join(', ')}`)
  } else {
    const { report, exitCode } = input
    const tasks = report.phases.flatMap((phase) => phase.tasks)
    const count = (outcome: TaskReport['outcome']) => tasks.filter((t) => t.outcome === outcome).length
    lines.push(
      `lameduck: exit ${exitCode}, trigger ${report.trigger} (${report.reason}), ` +
        `${seconds(report.durationMs)} of ${seconds(report.deadline - report.start)}`,
    )
    const delay = report.drainDelay
    if (delay)
      lines.push(
        `drain delay: ${seconds(delay.durationMs)}, ${delay.endedBy}` +
          (delay.sources > 0 ? `, ${delay.arrivals} new connection(s)` : '') +
          (delay.lastArrivalMs !== undefined ? `, last at +${seconds(delay.lastArrivalMs)}` : ''),
      )
    const drain = report.phases.find((p) => p.name === 'drain')
    if (drain && drain.tasks.length > 0)
      lines.push(`drain: ${seconds(drain.durationMs)}, ${drain.tasks.map((t) => `${t.name} ${t.outcome}`).join(', ')}`)
    lines.push(
      `tasks: ${count('ok')} ok, ${count('error')} failed, ${count('timeout')} timed out, ${count('skipped')} skipped`,
    )
    for (const task of tasks) if (task.outcome !== 'ok') lines.push(taskLine(task))
    // A start-up that did not complete: failed (why the exit code is 1 with every task ok), or aborted by the run.
    const startup = report.startup
    if (startup !== undefined && startup.state !== 'done') {
      const unfinished = startup.tasks.filter((t) => t.outcome !== 'ok')
      lines.push(`start-up ${startup.state}: ${unfinished.map((t) => `${t.name} ${t.outcome}`).join(', ')}`)
    }
    for (const error of report.errors)
      lines.push(`${error.origin}${error.code ? ` ${error.code}` : ''}: ${error.error.slice(0, 200)}`)
  }
  return truncate(`${lines.join('\n')}\n`, maxBytes)
}

/** Cut to `maxBytes` of UTF-8, on a character boundary, saying so. */
function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  const marker = '…(truncated)\n'
  const budget = maxBytes - Buffer.byteLength(marker)
  let cut = Buffer.from(text).subarray(0, budget).toString('utf8')
  // A multi-byte character cut in half decodes to U+FFFD: drop it.
  cut = cut.replace(/\uFFFD+$/, '')
  return cut + marker
}

/** Writes the summary; a failure is logged, never thrown (the process is exiting). */
export function writeTerminationLog(path: string, text: string, logger: Logger): void {
  try {
    writeFileSync(path, text)
  } catch (error) {
    logger.error(
      { event: 'termination-log.error', path, error: errorMessage(error) },
      `could not write the termination log ${path}`,
    )
  }
}
