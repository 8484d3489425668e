import type { SimulationResult } from './result.js'

/** The result as a readable table, for terminals and CI logs. */
export function formatResult(result: SimulationResult): string {
  const rows: [string, string][] = []
  const add = (label: string, value: string) => rows.push([label, value])
  if (result.passed) add('verdict', 'PASS: no request failed, no SIGKILL, clean exit')
  // One reason a line, the first beside the label.
  for (const [i, reason] of result.reasons.entries())
    add(i === 0 ? 'verdict' : '', `${i === 0 ? 'FAIL: ' : '      '}${reason}`)
  add('requests', `${result.requests} total, ${result.ok} ok, ${result.failed} failed`)
  const kinds = Object.entries(result.failures).sort((x, y) => y[1] - x[1])
  add('failures by kind', kinds.length ? kinds.map(([kind, n]) => `${kind} ${n}`).join(', ') : 'none')
  add('load', `${result.requestsPerSecond} req/s at concurrency ${result.config.concurrency}`)
  if (result.long.total > 0)
    add('long requests', `${result.long.ok} of ${result.long.total} completed (${result.long.durationMs} ms each)`)
  if (result.preStop) {
    const p = result.preStop
    add('preStop', `GET ${p.path} → ${p.status ?? p.error} in ${p.durationMs} ms`)
  } else add('preStop', 'none')
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
