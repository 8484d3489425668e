// What a lameduck service says about its own shutdown: its report, the body of the `/shutdown` response and the
// `event: "report"` JSON line its coordinator logs. Read as plain data — the simulator runs any service, and
// never imports the service's copy of lameduck.

/** A task of the service's shutdown that did not succeed, as its report tells. */
export interface ServiceTask {
  name: string
  phase: string
  critical: boolean
  outcome: string
  error?: string
}

/** The drain delay as the report tells it (lameduck ≥ the adaptive drain delay). */
export interface ServiceDrainDelay {
  mode: string
  durationMs: number
  endedBy: string
  arrivals: number
  lastArrivalMs: number | null
}

/** The parts of a lameduck `ShutdownReport` the simulator uses (epoch ms, like the report). */
export interface ServiceReport {
  trigger: string
  start: number
  end: number
  deadline: number | null
  exitCode: number
  /** `null` in reports of a lameduck without it. */
  drainDelay: ServiceDrainDelay | null
  /** Every task whose outcome is not `ok`, in report order. */
  notOk: ServiceTask[]
  /** Uncaught exceptions and unhandled rejections during the run (reports of lameduck versions that record them). */
  errors: { origin: string; error: string }[]
}

/** The report in a `/shutdown` response body, or `null` when the body is something else (`{"error":…}`, HTML…). */
export function reportInBody(body: string | undefined): ServiceReport | null {
  return body === undefined ? null : asReport(parse(body))
}

/** Whether an output line may be the coordinator's report line: a cheap test before parsing. */
export function mayBeReportLine(line: string): boolean {
  return line.startsWith('{') && line.includes('"report"')
}

/** The report in a log line `{ "event": "report", "report": {…} }` (lameduck's JSON logger, or pino), or `null`. */
export function reportInLine(line: string): ServiceReport | null {
  const parsed = parse(line)
  return isObject(parsed) && parsed.event === 'report' ? asReport(parsed.report) : null
}

function parse(text: string): unknown {
  if (!text.trimStart().startsWith('{')) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function asReport(value: unknown): ServiceReport | null {
  if (!isObject(value) || typeof value.start !== 'number' || typeof value.end !== 'number') return null
  if (!Array.isArray(value.phases)) return null
  const notOk: ServiceTask[] = []
  for (const phase of value.phases) {
    if (!isObject(phase) || !Array.isArray(phase.tasks)) continue
    for (const task of phase.tasks) {
      if (!isObject(task) || task.outcome === 'ok') continue
      notOk.push({
        name: String(task.name),
        phase: String(task.phase ?? phase.name),
        critical: task.critical !== false,
        outcome: String(task.outcome),
        ...(typeof task.error === 'string' ? { error: task.error } : {}),
      })
    }
  }
  const errors = Array.isArray(value.errors)
    ? value.errors.filter(isObject).map((e) => ({ origin: String(e.origin ?? 'error'), error: String(e.error) }))
    : []
  return {
    trigger: String(value.trigger),
    start: value.start,
    end: value.end,
    deadline: typeof value.deadline === 'number' ? value.deadline : null,
    exitCode: Number(value.exitCode),
    drainDelay: drainDelayOf(value.drainDelay),
    notOk,
    errors,
  }
}

function drainDelayOf(value: unknown): ServiceDrainDelay | null {
  if (!isObject(value) || typeof value.durationMs !== 'number') return null
  return {
    mode: String(value.mode),
    durationMs: value.durationMs,
    endedBy: String(value.endedBy),
    arrivals: Number(value.arrivals ?? 0),
    lastArrivalMs: typeof value.lastArrivalMs === 'number' ? value.lastArrivalMs : null,
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
