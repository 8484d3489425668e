import { request } from 'node:http'
import { checkOptions } from '@lameduck/core/adapter'
import { SIM_LIMITS } from './defaults.js'
import type { Replica, ReplicaExit } from './replica.js'

export interface PreStopOptions {
  port: number
  path: string
  headers: Record<string, string>
}

export interface PreStopResult {
  path: string
  /** The port the hook was sent to. */
  port: number
  /** HTTP status, or null when the request failed or was still running when the kubelet stopped waiting. */
  status: number | null
  durationMs: number
  /** Transport error (the only thing the kubelet treats as a failed hook), or `timeout`. */
  error: string | null
  /** Response body (the kubelet ignores it; lameduck's `/shutdown` sends its report), first 1 MiB. */
  body: string
}

export interface TerminationResult {
  preStop: PreStopResult | null
  /** ms from termination start to the stop signal. */
  signalAtMs: number
  /** ms from termination start to the SIGKILL the kubelet had planned (sent or not). */
  sigkillAtMs: number
  exit: ReplicaExit
  /** ms from termination start to the exit. */
  exitAtMs: number
  sigkill: boolean
}

/**
 * Terminates a replica as the kubelet does: the preStop httpGet (no timeout of its own, status ignored,
 * waited for at most the grace period), then the stop signal, then SIGKILL when the grace period is
 * spent — preStop time included, but never less than `minimumGraceAfterPreStopMs` after the preStop.
 */
export async function terminate(
  replica: Replica,
  options: { graceMs: number; signal: NodeJS.Signals; preStop?: PreStopOptions | undefined; startedAt: number },
): Promise<TerminationResult> {
  const { graceMs, signal, startedAt } = options
  let preStop: PreStopResult | null = null
  if (options.preStop) {
    checkOptions('preStop', options.preStop, ['port', 'path', 'headers'])
    preStop = await httpGetWithin(options.preStop, graceMs)
  }
  const signalAt = performance.now()
  const spent = signalAt - startedAt
  const remaining = Math.max(graceMs - spent, preStop ? SIM_LIMITS.minimumGraceAfterPreStopMs : 0)
  replica.signal(signal)

  let sigkill = false
  let timer: NodeJS.Timeout | undefined
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (replica.running) {
        sigkill = true
        replica.killGroup('SIGKILL')
      }
      resolve()
    }, remaining)
  })
  const exit = await Promise.race([replica.exited, killed.then(() => replica.exited)])
  clearTimeout(timer)
  return {
    preStop,
    signalAtMs: signalAt - startedAt,
    sigkillAtMs: spent + remaining,
    exit,
    exitAtMs: exit.at - startedAt,
    sigkill,
  }
}

function httpGetWithin(options: PreStopOptions, limitMs: number): Promise<PreStopResult> {
  const started = performance.now()
  return new Promise((resolve) => {
    let done = false
    let body = ''
    const finish = (status: number | null, error: string | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resolve({
        path: options.path,
        port: options.port,
        status,
        durationMs: Math.round(performance.now() - started),
        error,
        body,
      })
    }
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path,
        method: 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (body.length < 1 << 20) body += chunk
        })
        res.once('end', () => finish(res.statusCode ?? null, null))
        res.once('error', (error: NodeJS.ErrnoException) => finish(res.statusCode ?? null, error.code ?? error.message))
      },
    )
    req.once('error', (error: NodeJS.ErrnoException) => finish(null, error.code ?? error.message))
    req.end()
    // The kubelet stops waiting at the end of the grace period; the request itself is left alone.
    const timer = setTimeout(() => finish(null, 'timeout'), limitMs)
  })
}
