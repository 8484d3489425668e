import type { Emitter } from './emitter.js'
import type { Logger } from './logger.js'
import type { ShutdownEvents } from './shutdown.js'

/**
 * The run's log, written by a listener of the coordinator's typed events — the same events an application
 * sees through `shutdown.on()`. Registered first, so each line is written before other listeners run.
 * (What has no event — the exit path, overruns, errors during the run — logs where it happens.)
 */
export function logEvents(emitter: Emitter<ShutdownEvents>, logger: Logger): void {
  emitter.on('trigger', ({ trigger, reason, first }) =>
    logger.info(
      { event: 'trigger', trigger, reason, first },
      first ? `shutdown triggered by ${trigger} (${reason})` : `${trigger} (${reason}) joined the running shutdown`,
    ),
  )
  // Phases without tasks are not logged, except readiness (the drain delay).
  emitter.on('phaseStart', ({ phase, budgetMs, tasks }) => {
    if (tasks.length > 0 || phase === 'readiness')
      logger.info({ event: 'phase.start', phase, budgetMs, tasks }, `phase ${phase} started`)
  })
  emitter.on('drainDelayEnd', (delay) =>
    logger.info(
      { event: 'drain-delay.end', ...delay },
      `drain delay ended after ${delay.durationMs} ms: ${delay.endedBy}` +
        (delay.mode === 'adaptive' || delay.arrivals > 0 ? ` (${delay.arrivals} new connection(s) during it)` : ''),
    ),
  )
  emitter.on('phaseEnd', ({ name: phase, outcome, durationMs, tasks }) => {
    if (tasks.length > 0 || phase === 'readiness')
      logger.info({ event: 'phase.end', phase, outcome, durationMs }, `phase ${phase} ended: ${outcome}`)
  })
  emitter.on('taskEnd', (task) => {
    const level = task.outcome === 'ok' ? 'info' : task.critical ? 'error' : 'warn'
    logger[level](
      {
        event: 'task.end',
        task: task.name,
        phase: task.phase,
        outcome: task.outcome,
        durationMs: task.durationMs,
        critical: task.critical,
        ...(task.error === undefined ? {} : { error: task.error }),
      },
      `task ${task.name}: ${task.outcome}`,
    )
  })
  emitter.on('report', (report) =>
    logger[report.exitCode !== 0 ? 'error' : 'info'](
      { event: 'report', report },
      `shutdown finished in ${report.durationMs} ms, exit code ${report.exitCode}`,
    ),
  )
  emitter.on('warning', (warning) =>
    logger.warn({ event: 'warning', code: warning.code, ...warning.details }, warning.message),
  )
}
