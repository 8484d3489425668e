// The coordinator setup and report lookups every package's tests share. Import with a relative path:
// `import { testShutdown, taskReport } from '../../../test/support/shutdown.js'`.
import {
  createShutdown,
  type Logger,
  type Shutdown,
  type ShutdownOptions,
  type ShutdownReport,
  type TaskReport,
} from '@lameduck/core'
import { afterEach } from 'vitest'
import { jsonLines } from './child.js'

export { setTimeout as delay } from 'node:timers/promises'

/** A coordinator that never exits the test process, installs no signal handlers and logs nowhere. */
export function testShutdown(options: ShutdownOptions = {}): Shutdown {
  return createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0, terminationLog: false, ...options })
}

/**
 * A maker of {@link testShutdown} coordinators, each closed after the test that made it (call it at the top of a
 * test file: it registers the `afterEach`).
 */
export function closedAfterEach(): (options?: ShutdownOptions) => Shutdown {
  const open: Shutdown[] = []
  afterEach(async () => {
    for (const shutdown of open.splice(0)) await shutdown.close()
  })
  return (options) => {
    const shutdown = testShutdown(options)
    open.push(shutdown)
    return shutdown
  }
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error'
  fields: Record<string, unknown>
  message: string | undefined
}

/** A logger that keeps what it is given, for tests that read the log. */
export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at = (level: LogEntry['level']) => (fields: Record<string, unknown>, message?: string) => {
    entries.push({ level, fields, message })
  }
  return { entries, info: at('info'), warn: at('warn'), error: at('error') }
}

/**
 * What the report lookups need of a report: a coordinator's `ShutdownReport`, or the report a child
 * process logged, parsed from its JSON line (see {@link loggedReport}).
 */
export interface ReportWithTasks<T extends { name: string } = TaskReport> {
  phases: readonly { tasks: readonly T[] }[]
}

/** Every task of the report, in phase order. */
export function allTasks<T extends { name: string }>(report: ReportWithTasks<T>): T[] {
  return report.phases.flatMap((phase) => phase.tasks)
}

/** The report of the task named `name`; throws (failing the test) when the report has none. */
export function taskReport<T extends { name: string }>(report: ReportWithTasks<T>, name: string): T {
  const found = allTasks(report).find((task) => task.name === name)
  if (found === undefined) throw new Error(`no task "${name}" in the report (tasks: ${taskNames(report).join(', ')})`)
  return found
}

/** Every task name in the report, in phase order. */
export function taskNames(report: ReportWithTasks<{ name: string }>): string[] {
  return allTasks(report).map((task) => task.name)
}

/**
 * The report a child process's coordinator logged — the first `report` event of lameduck's JSON logger — in
 * `lines` (its stderr), or `undefined` when it logged none. `R`: the shape the test reads of it.
 */
export function loggedReport<R extends ReportWithTasks<{ name: string }> = ShutdownReport>(
  lines: string[],
): R | undefined {
  return jsonLines(lines).find((line) => line.event === 'report')?.report as R | undefined
}
