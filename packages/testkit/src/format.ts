import { joinCommand } from './command-line.js'
import type { SimulationResult } from './result.js'

/** The result as a readable table, for terminals and CI logs. */
export function formatResult(result: SimulationResult): string {
  const rows: [string, string][] = []
  const add = (label: string, value: string) => rows.push([label, value])
  if (result.passed)
    add('verdict', `PASS: no request failed${result.ws ? ', no WebSocket dropped' : ''}, no SIGKILL, clean exit`)
  // One reason a line, the first beside the label.
  for (const [i, reason] of result.reasons.entries())
    add(i === 0 ? 'verdict' : '', `${i === 0 ? 'FAIL: ' : '      '}${reason}`)
  add('requests', `${result.requests} total, ${result.ok} ok, ${result.failed} failed`)
  const kinds = Object.entries(result.failures).sort((x, y) => y[1] - x[1])
  add('failures by kind', kinds.length ? kinds.map(([kind, n]) => `${kind} ${n}`).join(', ') : 'none')
  add('load', `${result.requestsPerSecond} req/s at concurrency ${result.config.concurrency}, ${connections(result)}`)
  if (result.long.total > 0)
    add('long requests', `${result.long.ok} of ${result.long.total} completed (${result.long.durationMs} ms each)`)
  if (result.ws) {
    const w = result.ws
    const closes = Object.entries(w.closes).sort((x, y) => y[1] - x[1])
    add(
      'websockets',
      `${w.clients} clients, ${w.connections} connections opened (${w.reconnects} reconnects, at most ` +
        `${w.peakReconnectsPer100ms} in 100 ms); closes ${closes.length ? closes.map(([code, n]) => `${code} ${n}`).join(', ') : 'none'}`,
    )
    const failures = Object.entries(w.connectFailures).sort((x, y) => y[1] - x[1])
    add(
      '',
      `${w.abnormalCloses} abnormal (1006), ${w.failedConnects} failed connects` +
        `${failures.length ? ` (${failures.map(([kind, n]) => `${kind} ${n}`).join(', ')})` : ''}; messages ` +
        `${w.messages} sent, ${w.acked} answered, ${w.unanswered} unanswered at a clean close, ${w.lost} lost`,
    )
  }
  if (result.preStop) {
    const p = result.preStop
    const scheme = p.httpFallback ? ' (https answered in plain HTTP: sent again over http without Authorization)' : ''
    const how = p.scheme === 'https' && !p.httpFallback ? ' over https' : ''
    add('preStop', `GET ${p.path}${how} → ${p.status ?? p.error} in ${p.durationMs} ms${scheme}`)
  } else if (result.preStopExec) {
    const e = result.preStopExec
    const outcome = e.diedWithContainer
      ? 'died with replica A (SIGKILL)'
      : (e.error ?? (e.exitSignal ? `signal ${e.exitSignal}` : `exit ${e.exitCode}`))
    add('preStop', `exec ${joinCommand(e.command)} → ${outcome} in ${e.durationMs} ms`)
    const said = [...e.stdout.map((l) => `stdout: ${l}`), ...e.stderr.map((l) => `stderr: ${l}`)]
    for (const line of said.slice(-4)) add('', `  ${line}`)
  } else add('preStop', 'none')
  if (result.readiness) {
    const { path, readyAfterMs } = result.readiness
    add('readiness', `GET ${path} → 200 after ${readyAfterMs.A} ms (A), ${readyAfterMs.B} ms (B): traffic only then`)
  }
  add('stop signal', `${result.signal} at +${result.signalAtMs} ms`)
  add(
    'exit',
    `+${result.terminationToExitMs} ms, ${result.exitSignal ? `signal ${result.exitSignal}` : `code ${result.exitCode}`}`,
  )
  if (result.lameduck) {
    const l = result.lameduck
    add(
      'lameduck',
      `triggered at +${l.triggeredAtMs} ms, finished at +${l.finishedAtMs} ms (exit ${l.exitCode}); ` +
        `the service took ${result.terminationToExitMs - l.triggeredAtMs} ms from trigger to exit`,
    )
    const d = l.drainDelay
    if (d)
      add(
        'drain delay',
        `${d.mode}, ${d.durationMs} ms, ended ${d.endedBy}; ${d.arrivals} new connection(s) during it` +
          (d.lastArrivalMs === null ? '' : `, the last at +${d.lastArrivalMs} ms`),
      )
  }
  add('SIGKILL needed', result.sigkill ? 'yes' : 'no')
  for (const warning of result.warnings) add('warning', warning)
  const width = Math.max(...rows.map(([label]) => label.length))
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)
  if (result.lastOutput.length) {
    lines.push('', '  replica A, last output:')
    for (const line of result.lastOutput.slice(-8)) lines.push(`    ${line}`)
  }
  return lines.join('\n')
}

/** How the callers used their connections, and how many they opened. */
function connections(result: SimulationResult): string {
  const churn = result.config.churn
  const model =
    churn === null
      ? 'keep-alive'
      : churn === 1
        ? 'no keep-alive (a connection per request)'
        : `a new connection every ${churn} requests`
  return `${model}, ${result.load.connections} connections opened`
}
