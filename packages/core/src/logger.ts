/**
 * The logger lameduck writes to: pino's calling convention (`logger.info(fields, message)`), so a
 * pino, bunyan-style or console-like logger with these three methods can be passed as it is.
 */
export interface Logger {
  info(fields: Record<string, unknown>, message?: string): void
  warn(fields: Record<string, unknown>, message?: string): void
  error(fields: Record<string, unknown>, message?: string): void
  /** Called, when present, before the coordinator exits the process (pino's `flush`). */
  flush?(): void
}

type Level = 'info' | 'warn' | 'error'

/**
 * The default: one JSON line per event on stderr. Writes to stderr are synchronous for files,
 * TTYs and pipes on Linux, so nothing is lost when the process exits right after.
 */
export function createJsonLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const log = (level: Level) => (fields: Record<string, unknown>, message?: string) => {
    write(`${safeStringify({ level, time: Date.now(), name: 'lameduck', msg: message, ...fields })}\n`)
  }
  return { info: log('info'), warn: log('warn'), error: log('error') }
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch {
    return JSON.stringify({ level: 'error', name: 'lameduck', msg: 'log event could not be serialised' })
  }
}
