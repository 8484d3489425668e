import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// A private etcd for the tests, the way Redis and PostgreSQL are relied on: etcd does not run on these
// machines by itself (`.ci/run` starts one and exports ETCD_URL). When ETCD_URL is unreachable, the test file
// starts its own `etcd` (Debian's etcd-server) — loopback only, a free client and peer port, its data in a
// temp dir — and stops it by PID when the file is done (or the worker exits). The fault tests always start a
// private one, since they kill it.

/** The `etcd` binary: `$ETCD_BIN`, or `etcd` on the PATH; undefined when there is none. */
export function etcdBinary(): string | undefined {
  const candidate = process.env.ETCD_BIN ?? 'etcd'
  try {
    execFileSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 })
    return candidate
  } catch {
    return undefined
  }
}

export interface EtcdServer {
  /** The client URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly pid: number
  readonly process: ChildProcess
  /** SIGKILL (the leader is gone at once, no goodbye on its connections) and wait for the exit. */
  kill(): Promise<void>
  /** SIGSTOP: the process stays, its sockets stay open and nothing is answered any more (a hung leader). */
  freeze(): void
  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove the data dir. Idempotent. */
  stop(): Promise<void>
}

const running = new Set<EtcdServer>()
let exitHook = false

/** A port free on 127.0.0.1 right now (the etcd started on it a moment later may lose a race: retried). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Resolves when etcd answers `/health` with `"health":"true"`, or rejects after `timeoutMs` or if it exits. */
async function healthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs
  while (performance.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode})`)
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
      const body = (await response.json()) as { health?: string }
      if (body.health === 'true') return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`etcd at ${url} was not healthy within ${timeoutMs} ms`)
}

/** Starts a private single-member etcd on loopback. Throws when there is no etcd binary or it fails to start. */
export async function startEtcd(options: { timeoutMs?: number } = {}): Promise<EtcdServer> {
  const binary = etcdBinary()
  if (!binary) throw new Error('no etcd binary (apt-get install etcd-server, or set ETCD_BIN)')
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const [clientPort, peerPort] = [await freePort(), await freePort()]
    if (clientPort === peerPort) continue
    const dataDir = mkdtempSync(join(tmpdir(), 'lameduck-etcd-'))
    const client = `http://127.0.0.1:${clientPort}`
    const peer = `http://127.0.0.1:${peerPort}`
    const name = `lameduck-${process.pid}-${attempt}`
    const child = spawn(
      binary,
      [
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${name}=${peer}`,
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-level=error',
        '--log-outputs=stderr',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    const stderr: string[] = []
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 50) stderr.push(chunk)
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const pid = child.pid
    const removeData = () => rmSync(dataDir, { recursive: true, force: true })
    try {
      if (pid === undefined) throw new Error('etcd did not start')
      await healthy(client, child, options.timeoutMs ?? 15_000)
    } catch (error) {
      child.kill('SIGKILL')
      await exited
      removeData()
      lastError = new Error(`${(error as Error).message}; stderr: ${stderr.join('').slice(0, 2000)}`)
      continue
    }
    let stopping: Promise<void> | undefined
    const server: EtcdServer = {
      url: client,
      host: '127.0.0.1',
      port: clientPort,
      pid: pid as number,
      process: child,
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        await exited
      },
      freeze() {
        child.kill('SIGSTOP')
      },
      stop() {
        stopping ??= (async () => {
          running.delete(server)
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGCONT')
            child.kill('SIGTERM')
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            await exited
            clearTimeout(timer)
          }
          removeData()
        })()
        return stopping
      },
    }
    running.add(server)
    if (!exitHook) {
      exitHook = true
      // The worker exiting without afterAll (a crash, a timeout): no etcd left behind.
      process.once('exit', () => {
        for (const { process: etcd } of running) {
          etcd.kill('SIGCONT')
          etcd.kill('SIGKILL')
        }
      })
    }
    return server
  }
  throw lastError
}

/** Whether etcd answers `/health` at `url` within 2 s. */
export async function etcdReachable(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url.replace(/\/$/, '')}/health`, { signal: AbortSignal.timeout(2000) })
    return ((await response.json()) as { health?: string }).health === 'true'
  } catch {
    return false
  }
}

let shared: Promise<EtcdServer> | undefined

/**
 * The etcd of this test file, for `describeWith('etcd', …)`: a private one started on first use and kept
 * for the file (`stopSharedEtcd()` in afterAll; the exit hook otherwise). Sets `process.env.ETCD_URL`, so
 * that everything that reads it — the fixtures this file spawns included — uses it.
 */
export async function sharedEtcd(): Promise<EtcdServer> {
  shared ??= startEtcd().then((server) => {
    process.env.ETCD_URL = server.url
    return server
  })
  return shared
}

/** Stops the etcd `sharedEtcd()` started, if any. */
export async function stopSharedEtcd(): Promise<void> {
  const server = await shared?.catch(() => undefined)
  shared = undefined
  await server?.stop()
}
