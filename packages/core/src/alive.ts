// What keeps the event loop alive once a run is over: the answer to "why does my process not exit?".
// `process.getActiveResourcesInfo()` (public, Node ≥ 17) counts the resources by type; naming them needs
// `process._getActiveHandles()`, undocumented: read here only, feature-detected, with the counts alone as
// the fallback. Timers cannot be enumerated by any API: they are counted (`Timeout`), not named.

/** What still keeps the event loop alive (`report.keptAlive`, the `process.alive` and `watchdog` log lines). */
export interface KeptAlive {
  /** `process.getActiveResourcesInfo()` counted by type: `{ TCPServerWrap: 1, Timeout: 2, … }`. */
  resources: Record<string, number>
  /**
   * The handles that could be named: `http Server listening on 127.0.0.1:8080`, `socket 127.0.0.1:51234 →
   * 127.0.0.1:6379`, `child process 4242 (sleep 60)`. Handles that do not keep the loop alive (unref'd) and
   * the process's own stdio are left out.
   */
  handles: string[]
}

interface HandleLike {
  constructor?: { name?: string }
  _handle?: { hasRef?: () => boolean; fd?: number } | null
  address?: () => unknown
  listening?: boolean
  remoteAddress?: string
  remotePort?: number
  localAddress?: string
  localPort?: number
  _server?: unknown
  pid?: number
  spawnargs?: string[]
  fd?: number
}

const STDIO = new Set([0, 1, 2])

function refd(handle: HandleLike): boolean {
  const hasRef = handle._handle?.hasRef
  return typeof hasRef === 'function' ? hasRef.call(handle._handle) : true
}

function describeAddress(address: unknown): string {
  if (typeof address === 'string') return address
  const a = address as { address?: string; port?: number } | null
  if (a && typeof a.port === 'number') return `${a.address?.includes(':') ? `[${a.address}]` : a.address}:${a.port}`
  return 'an unknown address'
}

/** A name for one active handle, or `undefined` for one that is left out. */
export function describeHandle(handle: HandleLike): string | undefined {
  if (handle === null || typeof handle !== 'object' || !refd(handle)) return undefined
  const kind = handle.constructor?.name ?? 'handle'
  if (typeof handle.pid === 'number' && Array.isArray(handle.spawnargs))
    return `child process ${handle.pid} (${handle.spawnargs.join(' ')})`
  if (typeof handle.address === 'function' && typeof handle.listening === 'boolean')
    return `${kind} listening on ${describeAddress(handle.address())}`
  if (typeof handle.remotePort === 'number') {
    const local = describeAddress({ address: handle.localAddress, port: handle.localPort })
    const remote = describeAddress({ address: handle.remoteAddress, port: handle.remotePort })
    return handle._server ? `socket ${remote} → ${local} (accepted by a server)` : `socket ${local} → ${remote}`
  }
  const fd = handle.fd ?? handle._handle?.fd
  if (typeof fd === 'number' && STDIO.has(fd)) return undefined
  return kind === 'Socket' ? 'socket (a pipe: a child process’s stdio, or an IPC channel)' : kind
}

/** A snapshot of what keeps the event loop alive now. Never throws. */
export function keptAlive(): KeptAlive {
  const resources: Record<string, number> = {}
  const info = (process as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo
  try {
    for (const type of typeof info === 'function' ? info.call(process) : [])
      resources[type] = (resources[type] ?? 0) + 1
  } catch {
    // Nothing to count.
  }
  const handles: string[] = []
  const active = (process as { _getActiveHandles?: () => unknown[] })._getActiveHandles
  try {
    if (typeof active === 'function')
      for (const handle of active.call(process)) {
        const name = describeHandle(handle as HandleLike)
        if (name !== undefined) handles.push(name)
      }
  } catch {
    // The counts alone.
  }
  return { resources, handles }
}

/** One line for a log message: `2 × Timeout, 1 × TCPServerWrap (http Server listening on …)`. */
export function summarizeKeptAlive({ resources, handles }: KeptAlive): string {
  const counts = Object.entries(resources).map(([type, n]) => `${n} × ${type}`)
  if (counts.length === 0 && handles.length === 0) return 'nothing lameduck can see'
  return counts.join(', ') + (handles.length > 0 ? `; ${handles.join('; ')}` : '')
}
