// The load generator and the proxy run in a process of their own, so that the simulator's process — the
// kubelet: preStop, signals, SIGKILL, exit times — is never late because the load keeps it busy.
import { SIM_TIMINGS } from './defaults.js'
import type { LoadCounts, LoadOptions } from './load.js'
import { LoadGenerator } from './load.js'
import { KubeProxy } from './proxy.js'
import { type WsCounts, WsLoad, type WsLoadOptions } from './ws-load.js'

export type ToWorker =
  | { type: 'add'; name: string; port: number }
  | { type: 'remove'; name: string }
  | {
      type: 'start'
      options: Omit<LoadOptions, 'port' | 'upstreamError'>
      ws: Omit<WsLoadOptions, 'port' | 'upstreamError'> | null
    }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'error'; code?: string | undefined; message: string }
  | { type: 'progress'; counts: LoadCounts }
  | { type: 'stopped'; counts: LoadCounts; ws: WsCounts | null; ms: number }

if (process.send && process.env.LAMEDUCK_SIM_LOAD_WORKER === '1') {
  const post = (message: FromWorker) => process.send?.(message)
  const proxy = new KubeProxy()
  let load: LoadGenerator | undefined
  let ws: WsLoad | undefined
  let started = 0
  let progress: NodeJS.Timeout | undefined
  proxy.listen(Number(process.env.LAMEDUCK_SIM_PROXY_PORT ?? 0)).then(
    (listening) => post({ type: 'listening', port: listening }),
    (error: Error & { code?: string }) => post({ type: 'error', code: error.code, message: error.message }),
  )
  // The simulator going away, however it goes, takes the load with it.
  process.on('disconnect', () => process.exit(0))
  process.on('message', async (message: ToWorker) => {
    if (message.type === 'add') proxy.add(message.name, message.port)
    else if (message.type === 'remove') proxy.remove(message.name)
    else if (message.type === 'start') {
      load = new LoadGenerator({
        ...message.options,
        port: proxy.port,
        upstreamError: (clientPort) => proxy.upstreamErrors.get(clientPort),
      })
      started = performance.now()
      load.start()
      if (message.ws) {
        ws = new WsLoad({
          ...message.ws,
          port: proxy.port,
          upstreamError: (clientPort) => proxy.upstreamErrors.get(clientPort),
        })
        ws.start()
      }
      const counts = load.counts
      progress = setInterval(() => post({ type: 'progress', counts }), SIM_TIMINGS.progressEveryMs)
    } else if (message.type === 'stop') {
      clearInterval(progress)
      const [, wsCounts] = await Promise.all([load?.stop(), ws?.stop()])
      const ms = performance.now() - started
      await proxy.close()
      post({
        type: 'stopped',
        counts: load?.counts ?? { total: 0, ok: 0, failed: 0, failures: {}, connections: 0 },
        ws: wsCounts ?? null,
        ms,
      })
      process.disconnect()
    }
  })
}
