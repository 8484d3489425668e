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

export { setTimeout as delay } from 'node:timers/promises'

/** A coordinator that never exits the test process, installs no signal handlers and logs nowhere. */
export function testShutdown(options: ShutdownOptions = {}): Shutdown {
  return createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0, ...options })
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

/** The report of the task named `name`; throws (failing the test) when the report has none. */
export function taskReport(report: ShutdownReport, name: string): TaskReport {
  const found = report.phases.flatMap((phase) => phase.tasks).find((task) => task.name === name)
  if (found === undefined)
    throw new Error(
      `no task "${name}" in the report (tasks: ${report.phases.flatMap((p) => p.tasks.map((t) => t.name)).join(', ')})`,
    )
  return found
}

/** Every task name in the report, in phase order. */
export function taskNames(report: ShutdownReport): string[] {
  return report.phases.flatMap((phase) => phase.tasks.map((task) => task.name))
}
