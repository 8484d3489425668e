import { createShutdown, type Logger, type Shutdown, type ShutdownOptions } from '@lameduck/core'

export interface LogEntry {
  level: 'info' | 'warn' | 'error'
  fields: Record<string, unknown>
  message: string | undefined
}

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at = (level: LogEntry['level']) => (fields: Record<string, unknown>, message?: string) => {
    entries.push({ level, fields, message })
  }
  return { entries, info: at('info'), warn: at('warn'), error: at('error') }
}

/** A coordinator that never exits the test process, installs no signal handlers and logs nowhere. */
export function testShutdown(options: ShutdownOptions = {}): Shutdown {
  return createShutdown({ exit: false, logger: false, signals: [], drainDelayMs: 0, ...options })
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
